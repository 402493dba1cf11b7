import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CompressClient, JobsClient, JobState } from '@patchwork/contracts';
import { callUnary, createGrpcClient, readPlatformConfig, RunningPlatform, serve } from '@patchwork/platform';
import { compressServiceModule, REPORT_FILE } from './index';

const fixtures = path.resolve(__dirname, '../../../../shared/fixtures/peer/models');
let root: string;
let platform: RunningPlatform;
let compress: CompressClient;
let jobs: JobsClient;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'compress-svc-'));
  const config = readPlatformConfig({}, { dataDir: root, grpcPort: '0', services: 'compress', modelPathRoots: fixtures, logLevel: 'silent' });
  platform = await serve({ config, modules: [compressServiceModule] });
  compress = createGrpcClient(CompressClient, { address: `127.0.0.1:${platform.port}` });
  jobs = createGrpcClient(JobsClient, { address: `127.0.0.1:${platform.port}` });
});

afterAll(async () => {
  compress.close();
  jobs.close();
  await platform.close();
  await fs.rm(root, { recursive: true, force: true });
});

const gpt2 = { source: { $case: 'path' as const, value: path.join(fixtures, 'gpt2') } };

describe('compress service', () => {
  it('factorizes a model into a low-rank artifact with its report', async () => {
    const { job } = await callUnary(compress, 'submitCompress', { requestId: 'c1', model: gpt2, gamma: 2, distillDataset: '', distillSteps: 0, labels: {} });
    let done = job!;
    while (done.state !== JobState.JOB_STATE_SUCCEEDED) {
      if (done.state === JobState.JOB_STATE_FAILED) throw new Error(done.error?.message);
      await new Promise((r) => setTimeout(r, 50));
      done = await callUnary(jobs, 'getJob', { jobId: job!.id });
    }
    const dir = await platform.runtime.artifacts.materialize(done.outputs[0].digest);
    const config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8'));
    expect(config.patchwork_low_rank.gamma).toBe(2);
    const report = JSON.parse(await fs.readFile(path.join(dir, REPORT_FILE), 'utf8'));
    expect(report.params_after).toBeLessThan(report.params_before);
    for (const layer of report.layers) expect(Math.abs(layer.relError - layer.optimalRelError)).toBeLessThanOrEqual(1e-4 * Math.max(1, layer.optimalRelError));
  });

  it('refuses a bad gamma, a missing model and a distillation request with INVALID_ARGUMENT', async () => {
    await expect(callUnary(compress, 'submitCompress', { requestId: 'c2', model: gpt2, gamma: 1, distillDataset: '', distillSteps: 0, labels: {} })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(callUnary(compress, 'submitCompress', { requestId: 'c3', model: undefined, gamma: 2, distillDataset: '', distillSteps: 0, labels: {} })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(callUnary(compress, 'submitCompress', { requestId: 'c4', model: gpt2, gamma: 2, distillDataset: 'moby-dick', distillSteps: 10, labels: {} })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
