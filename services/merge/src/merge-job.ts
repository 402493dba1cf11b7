import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ArtifactKind, SubmitMergeRequest } from '@patchwork/contracts';
import { PatchworkError } from '@patchwork/errors';
import { executeMerge, MergeCursor, planMerge } from '@patchwork/merge';
import { JobHandler, Runtime, artifactParents } from '@patchwork/platform';
import { mergeInputResolver } from './adapted-inputs';
import { mergeConfigFromRequest, parseAdaptedRef } from './merge-request';

/**
 * Runs one merge job: resolve inputs, merge tensor by tensor into scratch space, store the result
 * as a content-addressed model artifact with its lineage. A rerun after a crash writes the same
 * bytes, hence the same artifact.
 */
export function mergeJobHandler(runtime: Runtime): JobHandler {
  return async (requestBytes, context) => {
    const request = SubmitMergeRequest.decode(requestBytes);
    const config = mergeConfigFromRequest(request);
    await context.progress({ stage: 'plan', message: 'opening inputs' });
    const plan = await planMerge(config, mergeInputResolver(runtime));
    for (const warning of plan.warnings) context.logger.warn({ jobId: context.job.id }, warning);
    // One scratch directory per job, kept across attempts: a redelivered job resumes from the
    // finished shards its cursor (in the job's KV checkpoint) names, after re-hashing them.
    const scratch = path.join(runtime.scratchDir, context.job.id);
    let keepScratch = false;
    try {
      const started = Date.now();
      const summary = await executeMerge(plan, {
        outDir: scratch,
        signal: context.signal,
        checkpoint: { read: () => context.readCheckpoint<MergeCursor>(), write: (cursor) => context.writeCheckpoint(cursor) },
        onProgress: (p) =>
          context.progress({
            stage: p.phase === 'statistics' ? `statistics ${p.walk ?? 1}` : 'merge',
            done: p.done,
            total: p.total,
            message: p.tensor,
            metrics: { bytes_read: p.bytesRead, bytes_written: p.bytesWritten, read_mb_per_s: p.bytesRead / 1e3 / Math.max(1, Date.now() - started) },
          }),
      });
      await context.progress({ stage: 'store', message: `storing ${summary.files.length} files` });
      const baseRef = config.baseModel;
      const record = await runtime.artifacts.putDirectory(scratch, {
        kind: ArtifactKind.ARTIFACT_KIND_MODEL,
        format: 'hf-safetensors',
        parents: artifactParents([baseRef, ...config.models.flatMap((m) => {
          const adapted = parseAdaptedRef(m.model);
          return adapted === undefined ? [m.model] : [adapted.model, adapted.adapter];
        })]),
        baseModelDigest: baseRef?.startsWith('artifact:') ? baseRef.slice('artifact:'.length) : '',
        recipeJson: JSON.stringify(SubmitMergeRequest.toJSON(request)),
        jobId: context.job.id,
        labels: { ...request.labels, producer: 'merge', merge_method: config.mergeMethod },
      });
      return { outputs: [{ digest: record.digest, size: record.size }] };
    } catch (err) {
      // A retryable failure or a worker shutdown leaves the finished shards for the next attempt.
      const error = PatchworkError.from(err);
      keepScratch = error.retryable || (context.signal.aborted && context.signal.reason === 'shutdown');
      throw err;
    } finally {
      await plan.close();
      if (!keepScratch) await fs.rm(scratch, { recursive: true, force: true });
    }
  };
}
