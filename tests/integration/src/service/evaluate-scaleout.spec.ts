import { ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EvaluateClient, Job, JobsClient, JobState, SubmitEvaluationRequest } from '@patchwork/contracts';
import { callUnary, createGrpcClient, readPlatformConfig, RunningPlatform, serve } from '@patchwork/platform';
import { evaluateServiceModule, RESULTS_FILE, samplesFile } from '@patchwork/service-evaluate';
import { cleanupPrefix, natsUrl, uniquePrefix } from '../support/nats';
import { saveTinyVit } from '@patchwork/evaluate/src/testing/tiny-models';

let root: string;
let prefix: string;
let api: RunningPlatform;
let evaluate: EvaluateClient;
let jobs: JobsClient;
const children: ChildProcess[] = [];

function env(extra: Record<string, string>): Record<string, string> {
  return {
    NATS_URL: natsUrl(),
    PATCHWORK_NATS_PREFIX: prefix,
    PATCHWORK_ACK_WAIT_MS: '2000',
    PATCHWORK_MAX_DELIVER: '5',
    PATCHWORK_MODEL_PATH_ROOTS: root,
    PATCHWORK_LOG_LEVEL: 'silent',
    TEST_MODULE: 'evaluate',
    ...extra,
  };
}

/** A worker replica in its own process; `lines` collects what it prints. */
function replica(name: string, extra: Record<string, string> = {}): Promise<{ child: ChildProcess; lines: string[] }> {
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'worker-process.ts')], {
    cwd: path.resolve(__dirname, '../../../..'),
    env: { ...process.env, ...env({ PATCHWORK_DATA_DIR: path.join(root, name), ...extra }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d) => (err += d));
    child.stdout?.on('data', (d) => {
      lines.push(...String(d).split('\n').filter(Boolean));
      if (lines.includes('ready')) resolve({ child, lines });
    });
    child.once('exit', (code) => reject(new Error(`replica ${name} exited (${code}): ${err}`)));
  });
}

/** Replicas are killed outright: graceful shutdown is tested elsewhere, and this keeps the suite short. */
async function stopAll(): Promise<void> {
  await Promise.all(
    children.splice(0).map((child) =>
      child.exitCode === null && child.signalCode === null ? new Promise((r) => (child.once('exit', r), child.kill('SIGKILL'))) : Promise.resolve(),
    ),
  );
}

async function finished(jobId: string, timeoutMs = 120_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await callUnary(jobs, 'getJob', { jobId });
    if (job.state === JobState.JOB_STATE_SUCCEEDED) return job;
    if (job.state === JobState.JOB_STATE_FAILED) throw new Error(`job failed: ${job.error?.message}`);
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${JobState[job.state]}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function output(job: Job): Promise<{ results: unknown; samples: string }> {
  const dir = await api.runtime.artifacts.materialize(job.outputs[0].digest);
  const raw = JSON.parse(await fs.readFile(path.join(dir, RESULTS_FILE), 'utf8'));
  return { results: raw.results, samples: await fs.readFile(path.join(dir, samplesFile('digits')), 'utf8') };
}

const submit = (requestId: string, model: string) =>
  callUnary(
    evaluate,
    'submitEvaluation',
    SubmitEvaluationRequest.fromPartial({ requestId, model: { source: { $case: 'path', value: model } }, task: 'digits', batchSize: 16, shardSize: 32, limit: 96 }),
  );

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'eval-scale-')));
  prefix = uniquePrefix();
  const config = readPlatformConfig({}, { natsServers: natsUrl(), natsPrefix: prefix, dataDir: path.join(root, 'api'), grpcPort: '0', services: 'evaluate', workers: 'false', modelPathRoots: root, logLevel: 'silent' });
  api = await serve({ config, modules: [evaluateServiceModule] });
  evaluate = createGrpcClient(EvaluateClient, { address: `127.0.0.1:${api.port}` });
  jobs = createGrpcClient(JobsClient, { address: `127.0.0.1:${api.port}` });
});

afterAll(async () => {
  await stopAll();
  evaluate.close();
  jobs.close();
  await api.close();
  await cleanupPrefix(prefix);
  await fs.rm(root, { recursive: true, force: true });
});

jest.setTimeout(240_000);

describe('evaluation scale-out on NATS', () => {
  let reference: { results: unknown; samples: string };

  it('gives identical results with 1 and with 3 worker replicas', async () => {
    const model = await saveTinyVit(path.join(root, 'vit'), 3);
    await replica('solo');
    reference = await output(await finished((await submit('with-one', model)).job!.id));
    await stopAll();
    await Promise.all([replica('r1'), replica('r2'), replica('r3')]);
    const spread = await output(await finished((await submit('with-three', model)).job!.id));
    expect(spread.results).toEqual(reference.results);
    expect(spread.samples).toBe(reference.samples);
    expect(reference.samples.trim().split('\n')).toHaveLength(96);
    await stopAll();
  });

  it('redoes the shard of a SIGKILLed replica on another one and counts it once', async () => {
    const model = path.join(root, 'vit');
    const victim = await replica('victim', { TEST_SHARD_DELAY_MS: '3000' });
    const { job } = await submit('kill-a-replica', model);
    const started = Date.now();
    while (!victim.lines.some((l) => l.startsWith('shard '))) {
      if (Date.now() - started > 60_000) throw new Error('the victim never took a shard');
      await new Promise((r) => setTimeout(r, 50));
    }
    victim.child.kill('SIGKILL');
    await replica('survivor');
    const done = await finished(job!.id);
    const result = await output(done);
    expect(result.results).toEqual(reference.results);
    expect(result.samples).toBe(reference.samples);
  });
});
