import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtifactKind, type Job, JobsClient, JobState, MergeClient, type SubmitMergeRequest } from '@patchwork/contracts';
import { mergeAdapterIntoModel } from '@patchwork/peft';
import { callUnary, createGrpcClient, readPlatformConfig, type RunningPlatform, serve } from '@patchwork/platform';
import { mergeServiceModule } from './index';

const FIXTURES = path.resolve(__dirname, '../../../../shared/fixtures/peer');
const VIT = path.join(FIXTURES, 'models/vit');
const VIT_LORA = path.join(FIXTURES, 'adapters/vit-lora');

let root: string;
let platform: RunningPlatform;
let merge: MergeClient;
let jobs: JobsClient;

const pathSource = (p: string) => ({ source: { $case: 'path' as const, value: p } });
const artifactSource = (digest: string) => ({ source: { $case: 'artifactDigest' as const, value: digest } });

async function mergedBytes(requestId: string, models: SubmitMergeRequest['spec'] extends infer S ? (S extends { models: infer M } ? M : never) : never): Promise<{ bytes: Buffer; job: Job }> {
  const { job } = await callUnary(merge, 'submitMerge', {
    requestId,
    spec: { mergeMethod: 'task_arithmetic', baseModel: pathSource(VIT), models, parameters: {}, settings: {}, dtype: '', outDtype: '' },
    labels: {},
  });
  let done = job!;
  while (done.state !== JobState.JOB_STATE_SUCCEEDED) {
    if (done.state === JobState.JOB_STATE_FAILED) throw new Error(done.error?.message);
    await new Promise((r) => setTimeout(r, 50));
    done = await callUnary(jobs, 'getJob', { jobId: job!.id });
  }
  const dir = await platform.runtime.artifacts.materialize(done.outputs[0].digest);
  return { bytes: await fs.readFile(path.join(dir, 'model.safetensors')), job: done };
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'merge-adapted-'));
  const config = readPlatformConfig({}, { dataDir: path.join(root, 'data'), grpcPort: '0', services: 'merge', modelPathRoots: `${FIXTURES},${root}`, logLevel: 'silent' });
  platform = await serve({ config, modules: [mergeServiceModule] });
  merge = createGrpcClient(MergeClient, { address: `127.0.0.1:${platform.port}` });
  jobs = createGrpcClient(JobsClient, { address: `127.0.0.1:${platform.port}` });
});

afterAll(async () => {
  merge.close();
  jobs.close();
  await platform.close();
  await fs.rm(root, { recursive: true, force: true });
});

describe('merge inputs with an adapter (model+lora)', () => {
  it('merge exactly as the same models with the adapter merged in beforehand, and record the adapter in the lineage', async () => {
    const premerged = path.join(root, 'vit-plus-lora');
    await mergeAdapterIntoModel({ modelDir: VIT, adapterDir: VIT_LORA, outDir: premerged });
    const adapter = (await platform.runtime.artifacts.putDirectory(VIT_LORA, { kind: ArtifactKind.ARTIFACT_KIND_ADAPTER, format: 'peft' })).digest;
    const adapted = await mergedBytes('adapted', [{ model: pathSource(VIT), adapter: artifactSource(adapter), parameters: { weight: 0.7 }, settings: {} }]);
    const reference = await mergedBytes('premerged', [{ model: pathSource(premerged), parameters: { weight: 0.7 }, settings: {}, adapter: undefined }]);
    expect(adapted.bytes.equals(reference.bytes)).toBe(true);
    const record = await platform.runtime.artifacts.get(adapted.job.outputs[0].digest);
    expect(record.parents).toContain(adapter);
    // The submission's pre-flight built the input once; the job reused it.
    expect(await fs.readdir(path.join(root, 'data', 'cache', 'adapted'))).toHaveLength(1);
  }, 60_000);

  it('refuses an adapter that is not there at submission', async () => {
    await expect(
      callUnary(merge, 'submitMerge', {
        requestId: 'missing-adapter',
        spec: { mergeMethod: 'task_arithmetic', baseModel: pathSource(VIT), models: [{ model: pathSource(VIT), adapter: pathSource(path.join(root, 'nope')), parameters: { weight: 1 }, settings: {} }], parameters: {}, settings: {}, dtype: '', outDtype: '' },
        labels: {},
      }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/models\[0\]\.adapter/) });
  });
});
