import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { ArtifactKind, ModelSource, SubmitMergeRequest } from '@patchwork/contracts';
import { PatchworkError } from '@patchwork/errors';
import { settingsToWire } from '@patchwork/service-merge';
import { ProgressLine } from '../progress';
import { callUnary } from '@patchwork/platform';
import { connectRemote, RemoteOptions } from '../remote/connection';
import { downloadBundle, uploadDirectory } from '../remote/transfer';
import { watchJob } from '../remote/watch';
import { MergeCommandOptions, readMergeConfigFile } from './merge-local';

/**
 * The same merge through the services: upload the inputs as artifacts, submit, follow the job,
 * download the result. The bytes equal a local merge's, because the same library runs there.
 */
export async function mergeRemote(options: MergeCommandOptions & { requestId?: string }, remoteOptions: RemoteOptions): Promise<void> {
  const config = await readMergeConfigFile(options.config);
  const remote = connectRemote(remoteOptions);
  const progress = new ProgressLine();
  try {
    const uploaded = new Map<string, string>();
    const source = async (dir: string): Promise<ModelSource> => {
      if (!uploaded.has(dir)) {
        progress.update('upload', uploaded.size / (config.models.length + 1), path.basename(dir));
        const record = await uploadDirectory(remote, dir, ArtifactKind.ARTIFACT_KIND_MODEL, 'hf-safetensors');
        uploaded.set(dir, record.digest);
      }
      return { source: { $case: 'artifactDigest', value: uploaded.get(dir) as string } };
    };
    const request: SubmitMergeRequest = {
      requestId: options.requestId ?? randomUUID(),
      spec: {
        mergeMethod: config.mergeMethod,
        baseModel: config.baseModel ? await source(config.baseModel) : undefined,
        models: await sequential(config.models, async (m) => ({ model: await source(m.model), parameters: m.parameters, settings: settingsToWire(m.settings), adapter: undefined })),
        parameters: config.parameters,
        settings: settingsToWire(config.settings),
        dtype: config.dtype ?? '',
        outDtype: config.outDtype ?? '',
      },
      labels: {},
    };
    const submitted = await callUnary(remote.merge, 'submitMerge', request);
    const jobId = submitted.job?.id;
    if (!jobId) throw new PatchworkError('INTERNAL', 'SubmitMerge returned no job');
    const done = await watchJob(remote, jobId, (job) => progress.update(job.progress?.stage || 'queued', job.progress?.fraction ?? 0, job.progress?.message ?? ''));
    const output = done.outputs[0];
    if (!output) throw new PatchworkError('INTERNAL', `job ${jobId} succeeded without an output artifact`);
    await downloadBundle(remote, output.digest, path.resolve(options.out));
    progress.done(`merged remotely (job ${jobId}, artifact ${output.digest}) -> ${path.resolve(options.out)}`);
  } finally {
    remote.close();
  }
}

async function sequential<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const item of items) out.push(await fn(item));
  return out;
}
