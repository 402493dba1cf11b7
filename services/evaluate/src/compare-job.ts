import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ArtifactKind, CompareModelsRequest } from '@patchwork/contracts';
import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { compareSamples } from '@patchwork/evaluate';
import { JobHandler, Runtime } from '@patchwork/platform';
import { samplesOfJob } from './evaluation-job';

export const COMPATIBILITY_FILE = 'compatibility.json';

export function checkCompareRequest(request: CompareModelsRequest): void {
  const problems = new ViolationCollector();
  if (!request.requestId) problems.add('request_id', 'required (it is the idempotency key)');
  if (!request.oldJobId) problems.add('old_job_id', 'required: the evaluation job of the current version');
  if (!request.newJobId) problems.add('new_job_id', 'required: the evaluation job of the candidate');
  problems.throwIfAny();
}

/** MUSCLE compatibility between two evaluations of the same task, from their per-sample logs. */
export function compareJobHandler(runtime: Runtime): JobHandler {
  return async (requestBytes, context) => {
    const request = CompareModelsRequest.decode(requestBytes);
    checkCompareRequest(request);
    const [older, newer] = await Promise.all([samplesOfJob(runtime, request.oldJobId, 'old_job_id'), samplesOfJob(runtime, request.newJobId, 'new_job_id')]);
    if (older.task !== newer.task) throw new PatchworkError('INVALID_ARGUMENT', `the jobs evaluated different tasks (${older.task} vs ${newer.task})`);
    const report = compareSamples(older.samples as never, newer.samples as never);
    const scratch = path.join(runtime.scratchDir, `${context.job.id}-${context.attempt}`);
    try {
      await fs.mkdir(scratch, { recursive: true });
      await fs.writeFile(path.join(scratch, COMPATIBILITY_FILE), `${JSON.stringify({ task: older.task, old_job_id: request.oldJobId, new_job_id: request.newJobId, ...report }, null, 2)}\n`);
      const record = await runtime.artifacts.putDirectory(scratch, {
        kind: ArtifactKind.ARTIFACT_KIND_REPORT,
        format: 'muscle-compatibility',
        recipeJson: JSON.stringify(CompareModelsRequest.toJSON(request)),
        jobId: context.job.id,
        labels: { producer: 'evaluate', task: older.task },
      });
      return { outputs: [{ digest: record.digest, size: record.size }] };
    } finally {
      await fs.rm(scratch, { recursive: true, force: true });
    }
  };
}
