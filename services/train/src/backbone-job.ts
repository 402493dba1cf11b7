import { ArtifactKind, BuildBackboneRequest } from '@patchwork/contracts';
import { cachedBackbone } from '@patchwork/backbones';
import type { JobHandler, Runtime } from '@patchwork/platform';
import { backboneSpecFromRequest } from './train-request';

/**
 * Pre-trains (or finds in the data dir's cache) one of Patchwork's backbones and stores it as a
 * model artifact. Builds are deterministic, so a rerun stores the same bytes: the same artifact.
 */
export function backboneJobHandler(runtime: Runtime): JobHandler {
  return async (requestBytes, context) => {
    const request = BuildBackboneRequest.decode(requestBytes);
    const spec = backboneSpecFromRequest(request);
    const built = await cachedBackbone(spec.name, {
      dataDir: runtime.config.dataDir,
      evolved: spec.evolved,
      seed: spec.seed,
      steps: spec.steps,
      signal: context.signal,
      onProgress: (p) => {
        const t = p.train;
        void context.progress(
          t === undefined
            ? { stage: p.phase, message: p.message }
            : { stage: p.phase, done: t.step, total: t.totalSteps, fraction: t.step / t.totalSteps, message: p.message, metrics: { loss: t.loss, lr: t.lr, examples_per_sec: t.examplesPerSec } },
        );
      },
    });
    await context.progress({ stage: 'store', message: `storing ${spec.name}${spec.evolved ? ' (evolved)' : ''}` });
    const record = await runtime.artifacts.putDirectory(built.dir, {
      kind: ArtifactKind.ARTIFACT_KIND_MODEL,
      format: 'hf-safetensors',
      recipeJson: JSON.stringify(BuildBackboneRequest.toJSON(request)),
      jobId: context.job.id,
      labels: { ...request.labels, producer: 'train', backbone: spec.name, ...(spec.evolved ? { evolved: 'true' } : {}) },
    });
    return { outputs: [{ digest: record.digest, size: record.size }] };
  };
}
