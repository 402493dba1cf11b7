import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CompressReport } from '@patchwork/compress';
import { CompressClient, Job, JobsClient, JobState, SubmitCompressRequest } from '@patchwork/contracts';
import { saveTinyVit } from '@patchwork/evaluate/src/testing/tiny-models';
import { callUnary, createGrpcClient, JobContext, readPlatformConfig, RunningPlatform, serve, silentLogger } from '@patchwork/platform';
import { initBackend } from '@patchwork/tensor';
import { compressJobHandler } from './compress-job';
import { compressServiceModule, REPORT_FILE } from './index';

const fixtures = path.resolve(__dirname, '../../../../shared/fixtures/peer/models');
let root: string;
let vit: string;
let platform: RunningPlatform;
let compress: CompressClient;
let jobs: JobsClient;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'compress-svc-')));
  vit = await saveTinyVit(path.join(root, 'vit'), 4);
  const config = readPlatformConfig({}, { dataDir: path.join(root, 'data'), grpcPort: '0', services: 'compress', modelPathRoots: `${fixtures},${root}`, logLevel: 'silent' });
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
const request = (fields: Partial<SubmitCompressRequest>) => SubmitCompressRequest.fromPartial({ model: { source: { $case: 'path', value: vit } }, gamma: 2, ...fields });

async function until(jobId: string, done: (job: Job) => boolean): Promise<Job> {
  for (;;) {
    const job = await callUnary(jobs, 'getJob', { jobId });
    if (done(job)) return job;
    if (job.state === JobState.JOB_STATE_FAILED) throw new Error(job.error?.message);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function reportOf(job: Job): Promise<{ dir: string; report: CompressReport }> {
  const dir = await platform.runtime.artifacts.materialize(job.outputs[0].digest);
  return { dir, report: JSON.parse(await fs.readFile(path.join(dir, REPORT_FILE), 'utf8')) };
}

/** A job context the way the worker builds one, for driving attempts by hand. */
function attemptContext(jobId: string, attempt: number, signal: AbortSignal, onProgress: (stage?: string, done?: number) => void = () => undefined): JobContext {
  return {
    job: Job.fromPartial({ id: jobId }),
    attempt,
    signal,
    logger: silentLogger,
    progress: async (u) => onProgress(u.stage, u.done),
    readCheckpoint: async () => null,
    writeCheckpoint: async () => undefined,
  };
}

describe('compress service', () => {
  it('factorizes a model into a low-rank artifact with its report', async () => {
    const { job } = await callUnary(compress, 'submitCompress', { requestId: 'c1', model: gpt2, gamma: 2, distillDataset: '', distillSteps: 0, labels: {} });
    const done = await until(job!.id, (j) => j.state === JobState.JOB_STATE_SUCCEEDED);
    const { dir, report } = await reportOf(done);
    const config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8'));
    expect(config.patchwork_low_rank.gamma).toBe(2);
    expect(report.params_after).toBeLessThan(report.params_before);
    expect(report.distill).toBeNull();
    for (const layer of report.layers) expect(Math.abs(layer.relError - (layer.optimalRelError as number))).toBeLessThanOrEqual(1e-4 * Math.max(1, layer.optimalRelError as number));
  });

  it('distils through the job: per-step progress with the loss terms, and errors before and after in the report', async () => {
    const { job } = await callUnary(compress, 'submitCompress', request({ requestId: 'd1', distillDataset: 'digits', distillSteps: 6 }));
    const done = await until(job!.id, (j) => j.state === JobState.JOB_STATE_SUCCEEDED);
    expect(done.progress?.stage).toBe('done');
    expect(done.progress?.metrics).toEqual(expect.objectContaining({ loss: expect.any(Number), feature_distill: expect.any(Number), weight_perturbation: expect.any(Number) }));
    const { dir, report } = await reportOf(done);
    expect(report.distill).toMatchObject({ steps: 6, data: { name: 'digits', kind: 'task', length: null, taskTerm: 'none' } });
    expect(report.distill?.history).toHaveLength(6);
    expect(report.flops_per_token_after).toBeLessThan(report.flops_per_token_before);
    for (const layer of report.layers) {
      expect(layer.relErrorAfterDistill).toEqual(expect.any(Number));
      expect(layer.relErrorAfterDistill).not.toBe(layer.relError);
    }
    const config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8'));
    expect(config.patchwork_low_rank.distillation).toMatchObject({ steps: 6 });
    const record = await platform.runtime.artifacts.get(done.outputs[0].digest);
    expect(record.labels).toMatchObject({ distill_dataset: 'digits', distill_steps: '6' });
  });

  it('resumes a redelivered job from its last checkpoint, after a shutdown and after a death past saving', async () => {
    const bytes = SubmitCompressRequest.encode(request({ requestId: 'r1', distillDataset: 'digits', distillSteps: 12 })).finish();
    const handler = compressJobHandler(platform.runtime);
    const scratch = path.join(platform.runtime.scratchDir, 'resume-job');
    const shutdown = new AbortController();
    const first = handler(bytes, attemptContext('resume-job', 1, shutdown.signal, (stage, done) => stage === 'distill' && done === 5 && shutdown.abort('shutdown')));
    await expect(first).rejects.toMatchObject({ code: 'CANCELLED' });
    expect((await fs.readdir(path.join(scratch, 'checkpoints'))).length).toBeGreaterThan(0);
    // A worker killed after writing the model but before storing it leaves that directory behind.
    await fs.mkdir(path.join(scratch, 'model'));
    await fs.writeFile(path.join(scratch, 'model', 'config.json'), '{}');
    const { outputs } = await handler(bytes, attemptContext('resume-job', 2, new AbortController().signal));
    const report: CompressReport = JSON.parse(await fs.readFile(path.join(await platform.runtime.artifacts.materialize(outputs[0].digest), REPORT_FILE), 'utf8'));
    expect(report.distill?.resumedFromStep).toBe(5);
    expect(report.distill?.history.map((r) => r.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    await expect(fs.access(scratch)).rejects.toThrow();
  });

  it('cancels a running distillation through CancelJob and cleans its scratch space', async () => {
    const { job } = await callUnary(compress, 'submitCompress', request({ requestId: 'x1', distillDataset: 'digits', distillSteps: 100000 }));
    await until(job!.id, (j) => j.progress?.stage === 'distill' && (j.progress?.done ?? 0) >= 1);
    await callUnary(jobs, 'cancelJob', { jobId: job!.id, reason: 'test' });
    const cancelled = await until(job!.id, (j) => j.state === JobState.JOB_STATE_CANCELLED);
    expect(cancelled.progress?.done).toBeLessThan(100000);
    await expect(fs.access(path.join(platform.runtime.scratchDir, job!.id))).rejects.toThrow();
  });

  it('refuses bad requests with INVALID_ARGUMENT naming the field', async () => {
    const refused = (fields: Partial<SubmitCompressRequest>) => callUnary(compress, 'submitCompress', request(fields));
    await expect(refused({ requestId: 'v1', gamma: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('gamma') });
    await expect(callUnary(compress, 'submitCompress', { requestId: 'v2', model: undefined, gamma: 2, distillDataset: '', distillSteps: 0, labels: {} })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(refused({ requestId: 'v3', distillDataset: 'imagenet', distillSteps: 10 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/distill_dataset.*neither a corpus/) });
    await expect(refused({ requestId: 'v4', distillDataset: 'digits' })).rejects.toMatchObject({ message: expect.stringContaining('distill_steps: must be > 0') });
    await expect(refused({ requestId: 'v5', distillSteps: 5 })).rejects.toMatchObject({ message: expect.stringContaining('distill_dataset: required') });
    await expect(refused({ requestId: 'v6', distillDataset: 'moby-dick', distillSteps: 5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/distill_dataset.*text but the vit model reads images/) });
  });
});
