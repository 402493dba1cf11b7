import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ArtifactKind, SubmitCompressRequest } from '@patchwork/contracts';
import { type CompressProgress, checkDistillData, compressModel, distillSource } from '@patchwork/compress';
import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { readModelConfig } from '@patchwork/models';
import { artifactParents, JobContext, JobHandler, modelSourceToRef, Runtime } from '@patchwork/platform';

export const REPORT_FILE = 'compress_report.json';

/** Checkpoints per distillation run: a redelivered job loses at most 1/20 of its steps. */
const CHECKPOINTS_PER_RUN = 20;

export interface CompressSpec {
  modelRef: string;
  gamma: number;
  /** Intermediate pre-training on a named corpus or task, when asked for. */
  distill?: { dataset: string; steps: number };
}

/** Checks a SubmitCompress request; every problem is reported at once, by field. */
export function compressSpecFromRequest(request: SubmitCompressRequest): CompressSpec {
  const problems = new ViolationCollector();
  if (!request.requestId) problems.add('request_id', 'required (it is the idempotency key)');
  let modelRef = '';
  try {
    modelRef = modelSourceToRef(request.model, 'model');
  } catch (err) {
    for (const v of (err as { violations?: { field: string; description: string }[] }).violations ?? []) problems.add(v.field, v.description);
  }
  if (!(Number.isFinite(request.gamma) && request.gamma > 1)) problems.add('gamma', `must be a number > 1 (each factored layer keeps about 1/gamma of its weights), got ${request.gamma}`);
  const dataset = request.distillDataset;
  const steps = request.distillSteps;
  if (dataset && steps === 0) problems.add('distill_steps', 'must be > 0 when distill_dataset is given');
  if (!dataset && steps > 0) problems.add('distill_dataset', 'required when distill_steps > 0 (a corpus such as moby-dick, or a task such as digits)');
  if (dataset) {
    try {
      distillSource(dataset, 'distill_dataset');
    } catch (err) {
      for (const v of PatchworkError.from(err).violations) problems.add(v.field, v.description);
    }
  }
  problems.throwIfAny();
  return { modelRef, gamma: request.gamma, distill: dataset ? { dataset, steps } : undefined };
}

/** The request's data set must fit the model (modality, image size): checked at submit, before a job exists. */
export async function checkSpecAgainstModel(spec: CompressSpec, modelDir: string): Promise<void> {
  if (spec.distill === undefined) return;
  checkDistillData(spec.distill.dataset, await readModelConfig(modelDir), 'distill_dataset');
}

function reportProgress(context: JobContext, p: CompressProgress): void {
  // Progress is advisory: a failed status write must not fail the job.
  const send = (update: Parameters<JobContext['progress']>[0]) => void context.progress(update).catch(() => undefined);
  if (p.phase === 'data') send({ stage: 'data', message: `preparing ${p.name}` });
  else if (p.phase === 'factorize') send({ stage: 'factorize', done: p.index, total: p.total, message: `${p.module} rank ${p.rank}`, metrics: { rel_error: p.relError } });
  else if (p.phase === 'distill') {
    const metrics: Record<string, number> = { loss: p.loss, lr: p.lr, eta_s: p.etaSec };
    if (p.terms.task !== null) metrics['task'] = p.terms.task;
    if (p.terms.featureDistill !== null) metrics['feature_distill'] = p.terms.featureDistill;
    if (p.terms.weightPerturbation !== null) metrics['weight_perturbation'] = p.terms.weightPerturbation;
    send({ stage: 'distill', done: p.step, total: p.totalSteps, message: `step ${p.step}/${p.totalSteps} loss ${p.loss.toPrecision(4)}`, metrics });
  } else send({ stage: 'save', message: 'writing the low-rank model' });
}

/**
 * Factorizes a model to its target size, optionally restores its features by intermediate
 * pre-training against the dense model, and stores the low-rank model with its report. Work lives
 * in one scratch directory per job, kept across attempts: the distillation checkpoints there let a
 * redelivered job (worker shut down or killed) resume from its last checkpoint instead of step 0.
 */
export function compressJobHandler(runtime: Runtime): JobHandler {
  return async (requestBytes, context) => {
    const request = SubmitCompressRequest.decode(requestBytes);
    const spec = compressSpecFromRequest(request);
    const modelDir = await runtime.resolveModel(spec.modelRef, 'model');
    const scratch = path.join(runtime.scratchDir, context.job.id);
    const outDir = path.join(scratch, 'model');
    // An earlier attempt may have died between saving and storing; the model is rebuilt from the checkpoints.
    await fs.rm(outDir, { recursive: true, force: true });
    let keepScratch = false;
    try {
      const steps = spec.distill?.steps ?? 0;
      const report = await compressModel({
        modelDir,
        outDir,
        gamma: spec.gamma,
        distill:
          spec.distill === undefined
            ? undefined
            : { dataset: spec.distill.dataset, steps, checkpoint: { dir: path.join(scratch, 'checkpoints'), every: Math.max(1, Math.ceil(steps / CHECKPOINTS_PER_RUN)) } },
        signal: context.signal,
        onProgress: (p) => reportProgress(context, p),
      });
      if (report.distill?.resumedFromStep !== undefined) context.logger.info({ jobId: context.job.id, step: report.distill.resumedFromStep }, 'distillation resumed from checkpoint');
      await fs.writeFile(path.join(outDir, REPORT_FILE), `${JSON.stringify({ ...report, out_dir: undefined, files: undefined }, null, 2)}\n`);
      const record = await runtime.artifacts.putDirectory(outDir, {
        kind: ArtifactKind.ARTIFACT_KIND_MODEL,
        format: 'hf-safetensors-low-rank',
        parents: artifactParents([spec.modelRef]),
        recipeJson: JSON.stringify(SubmitCompressRequest.toJSON(request)),
        jobId: context.job.id,
        labels: {
          ...request.labels,
          producer: 'compress',
          gamma: String(spec.gamma),
          params_after: String(report.params_after),
          ...(spec.distill === undefined ? {} : { distill_dataset: spec.distill.dataset, distill_steps: String(steps) }),
        },
      });
      return { outputs: [{ digest: record.digest, size: record.size }] };
    } catch (err) {
      // A retryable failure or a worker shutdown keeps the checkpoints for the next attempt.
      const error = PatchworkError.from(err);
      keepScratch = error.retryable || (context.signal.aborted && context.signal.reason === 'shutdown');
      throw err;
    } finally {
      if (!keepScratch) await fs.rm(scratch, { recursive: true, force: true });
    }
  };
}
