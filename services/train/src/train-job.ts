import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ArtifactKind, SubmitTrainRequest } from '@patchwork/contracts';
import { PatchworkError } from '@patchwork/errors';
import { type FinetuneProgress, trainFromConfig } from '@patchwork/finetune';
import { artifactParents, type JobContext, type JobHandler, type Runtime } from '@patchwork/platform';
import { trainModelResolver } from './model-references';
import { trainSpecFromRequest } from './train-request';

/** Written into every trained artifact: the run's metrics, memory, throughput and training curves. */
export const TRAIN_METRICS_FILE = 'train_metrics.json';

/** The name of the evaluation a train job records on its artifact (the test split of its task). */
export const trainEvaluationName = (task: string) => `train/${task}`;

function reportProgress(context: JobContext, p: FinetuneProgress): void {
  const metrics: Record<string, number> = { loss: p.loss, lr: p.lr, grad_norm: p.gradNorm, examples_per_sec: p.examplesPerSec, eta_sec: p.etaSec, epoch: p.epoch };
  for (const [k, v] of Object.entries(p.evalMetrics ?? {})) if (Number.isFinite(v)) metrics[k] = v;
  void context.progress({
    stage: p.phase,
    done: p.step,
    total: p.totalSteps,
    fraction: p.totalSteps > 0 ? p.step / p.totalSteps : 0,
    message: `${p.method} step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)}`,
    metrics,
  });
}

/**
 * Runs one training job. Its working directory lives as long as the job: checkpoints written
 * there let a redelivered job (its worker killed, or shut down) continue from the last one and
 * end with the same metrics as an uninterrupted run. The trained adapter is stored as a
 * content-addressed artifact with its lineage (base model, the run's recipe) and its test
 * metrics as an evaluation, which the retrieve service ranks by.
 */
export function trainJobHandler(runtime: Runtime): JobHandler {
  return async (requestBytes, context) => {
    const request = SubmitTrainRequest.decode(requestBytes);
    const spec = trainSpecFromRequest(request);
    const work = path.join(runtime.scratchDir, context.job.id);
    let keepWork = false;
    try {
      // An attempt that died between saving and storing its artifact left it behind; the resumed
      // run writes it again from the final checkpoint.
      await Promise.all(['adapter', 'model'].map((d) => fs.rm(path.join(work, d), { recursive: true, force: true })));
      await context.progress({ stage: 'prepare', message: context.attempt > 1 ? `attempt ${context.attempt}: resuming from the last checkpoint` : 'loading the base model and the task' });
      const resolveModel = trainModelResolver(runtime, context.signal);
      const baseModelDir = await resolveModel(spec.baseRef, 'base_model');
      const result = await trainFromConfig(spec.configYaml, {
        baseModelDir,
        outDir: work,
        resumeFrom: path.join(work, 'checkpoints'),
        dataDir: runtime.config.dataDir,
        resolveModel,
        signal: context.signal,
        onProgress: (p) => reportProgress(context, p),
      });
      await fs.copyFile(path.join(work, 'metrics.json'), path.join(result.adapterDir, TRAIN_METRICS_FILE));
      await context.progress({ stage: 'store', message: `storing the ${spec.config.method} ${result.config.method === 'full' ? 'model' : 'adapter'}` });
      const references = [spec.baseRef, ...['old_base_model', 'old_adapter', 'new_adapter'].map((k) => spec.config.parameters[k]).filter((r): r is string => typeof r === 'string')];
      const record = await runtime.artifacts.putDirectory(result.adapterDir, {
        kind: spec.config.method === 'full' ? ArtifactKind.ARTIFACT_KIND_MODEL : ArtifactKind.ARTIFACT_KIND_ADAPTER,
        format: spec.config.method === 'full' ? 'hf-safetensors' : 'peft',
        parents: artifactParents(references),
        baseModelDigest: spec.baseRef.startsWith('artifact:') ? spec.baseRef.slice('artifact:'.length) : '',
        recipeJson: JSON.stringify(SubmitTrainRequest.toJSON(request)),
        jobId: context.job.id,
        labels: { ...request.labels, producer: 'train', method: spec.config.method, task: spec.config.task },
      });
      // Identical bytes mean an identical run (same recipe and seed): its metrics are already there.
      const name = trainEvaluationName(spec.config.task);
      if (!record.evaluations.some((e) => e.name === name)) {
        const metrics = Object.fromEntries(Object.entries(result.metrics).filter(([, v]) => Number.isFinite(v)));
        await runtime.artifacts.addEvaluation(record.digest, { name, metrics: { ...metrics, accuracy: result.metrics.test_accuracy, trainable_parameters: result.trainableParameters, peak_memory_bytes: result.peakMemoryBytes }, atMs: Date.now() });
      }
      return { outputs: [{ digest: record.digest, size: record.size }] };
    } catch (err) {
      // A retryable failure or a worker shutdown keeps the checkpoints for the next attempt.
      const error = PatchworkError.from(err);
      keepWork = error.retryable || (context.signal.aborted && context.signal.reason === 'shutdown');
      throw err;
    } finally {
      if (!keepWork) await fs.rm(work, { recursive: true, force: true });
    }
  };
}
