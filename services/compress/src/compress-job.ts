import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ArtifactKind, SubmitCompressRequest } from '@patchwork/contracts';
import { compressModel } from '@patchwork/compress';
import { ViolationCollector } from '@patchwork/errors';
import { artifactParents, JobHandler, modelSourceToRef, Runtime } from '@patchwork/platform';

export const REPORT_FILE = 'compress_report.json';

export interface CompressSpec {
  modelRef: string;
  gamma: number;
}

/**
 * Checks a SubmitCompress request. Intermediate pre-training needs a data set prepared for the
 * model's modality; through the service only factorization is offered, and a request for
 * distillation is refused rather than silently factorized.
 */
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
  if (request.distillDataset || request.distillSteps) problems.add('distill_dataset', 'intermediate pre-training is available through the library (compressModel distill option), not yet through the service');
  problems.throwIfAny();
  return { modelRef, gamma: request.gamma };
}

/** Factorizes a model to its target size and stores the low-rank model with its report. */
export function compressJobHandler(runtime: Runtime): JobHandler {
  return async (requestBytes, context) => {
    const request = SubmitCompressRequest.decode(requestBytes);
    const spec = compressSpecFromRequest(request);
    const modelDir = await runtime.resolveModel(spec.modelRef, 'model');
    const scratch = path.join(runtime.scratchDir, `${context.job.id}-${context.attempt}`);
    await fs.rm(scratch, { recursive: true, force: true });
    try {
      const report = await compressModel({
        modelDir,
        outDir: scratch,
        gamma: spec.gamma,
        signal: context.signal,
        onProgress: (p) => {
          if (p.phase === 'factorize') void context.progress({ stage: 'factorize', done: p.index + 1, total: p.total, message: `${p.module} rank ${p.rank}`, metrics: { rel_error: p.relError } });
        },
      });
      await fs.writeFile(path.join(scratch, REPORT_FILE), `${JSON.stringify({ ...report, out_dir: undefined, files: undefined }, null, 2)}\n`);
      const record = await runtime.artifacts.putDirectory(scratch, {
        kind: ArtifactKind.ARTIFACT_KIND_MODEL,
        format: 'hf-safetensors-low-rank',
        parents: artifactParents([spec.modelRef]),
        recipeJson: JSON.stringify(SubmitCompressRequest.toJSON(request)),
        jobId: context.job.id,
        labels: { ...request.labels, producer: 'compress', gamma: String(spec.gamma), params_after: String(report.params_after) },
      });
      return { outputs: [{ digest: record.digest, size: record.size }] };
    } finally {
      await fs.rm(scratch, { recursive: true, force: true });
    }
  };
}
