import { ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtifactKind, ArtifactsClient, Job, JobsClient, JobState, MergeClient, SubmitMergeRequest } from '@patchwork/contracts';
import { PatchworkError } from '@patchwork/errors';
import { callServerStream, callUnary, checkHealth, createGrpcClient, readPlatformConfig, RunningPlatform, serve, ServiceModule } from '@patchwork/platform';
import { mergeServiceModule } from '@patchwork/service-merge';
import { cleanupPrefix, natsUrl, uniquePrefix } from '../support/nats';
import { slowMergeModule } from './slow-merge-module';
import { writeToyModel } from './toy-models';

const repoRoot = path.resolve(__dirname, '../../../..');
let root: string;
let prefix: string;
const running: RunningPlatform[] = [];
const children: ChildProcess[] = [];

interface StartOptions {
  workers?: boolean;
  modules?: ServiceModule[];
  authToken?: string;
  ackWaitMs?: number;
  maxDeliver?: number;
}

async function start(options: StartOptions = {}): Promise<{ platform: RunningPlatform; address: string }> {
  const config = readPlatformConfig(
    {},
    {
      natsServers: natsUrl(),
      natsPrefix: prefix,
      dataDir: path.join(root, `data-${running.length}`),
      grpcPort: '0',
      services: 'merge',
      workers: options.workers === false ? 'false' : 'true',
      authToken: options.authToken,
      ackWaitMs: String(options.ackWaitMs ?? 3000),
      maxDeliver: String(options.maxDeliver ?? 3),
      modelPathRoots: root,
      shutdownGraceMs: '2000',
      logLevel: 'silent',
    },
  );
  const platform = await serve({ config, modules: options.modules ?? [mergeServiceModule] });
  running.push(platform);
  return { platform, address: `127.0.0.1:${platform.port}` };
}

const openClients: { close(): void }[] = [];

function clients(address: string, token?: string) {
  const c = {
    merge: createGrpcClient(MergeClient, { address, token, deadlineMs: 30_000 }),
    jobs: createGrpcClient(JobsClient, { address, token, deadlineMs: 30_000 }),
    artifacts: createGrpcClient(ArtifactsClient, { address, token, deadlineMs: 30_000 }),
  };
  openClients.push(c.merge, c.jobs, c.artifacts);
  return c;
}

function pathSource(dir: string) {
  return { source: { $case: 'path' as const, value: dir } };
}

function taskArithmetic(requestId: string, base: string, models: string[], extra: Partial<SubmitMergeRequest['spec']> = {}): SubmitMergeRequest {
  return SubmitMergeRequest.fromPartial({
    requestId,
    spec: {
      mergeMethod: 'task_arithmetic',
      baseModel: pathSource(base),
      models: models.map((m) => ({ model: pathSource(m), parameters: { weight: 0.5 } })),
      parameters: { lambda: 1 },
      ...extra,
    },
  });
}

async function until(jobs: JobsClient, jobId: string, predicate: (job: Job) => boolean, timeoutMs = 60_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await callUnary(jobs, 'getJob', { jobId });
    if (predicate(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} stuck in ${JobState[job.state]}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function mergeArtifacts(artifacts: ArtifactsClient, jobId: string) {
  const { artifacts: all } = await callUnary(artifacts, 'listArtifacts', { kind: ArtifactKind.ARTIFACT_KIND_MODEL, baseModelDigest: '' });
  return all.filter((a) => a.jobId === jobId);
}

function spawnWorker(env: Record<string, string>): Promise<ChildProcess> {
  // `-r tsx/cjs` keeps the worker in this one process, so SIGKILL reaches the process doing the work.
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'worker-process.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d) => (err += d));
    child.stdout?.on('data', (d) => String(d).includes('ready') && resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited early (${code}): ${err}`)));
  });
}

beforeEach(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'merge-svc-')));
  prefix = uniquePrefix();
});

afterEach(async () => {
  for (const client of openClients.splice(0)) client.close();
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(running.splice(0).map((p) => p.close()));
  await cleanupPrefix(prefix);
  await fs.rm(root, { recursive: true, force: true });
});

describe('merge service on NATS', () => {
  it('runs a job submitted twice with the same request id once, streaming progress to completion', async () => {
    const { address } = await start();
    const c = clients(address);
    const base = await writeToyModel(path.join(root, 'base'), 1);
    const a = await writeToyModel(path.join(root, 'a'), 2);
    const b = await writeToyModel(path.join(root, 'b'), 3);
    const request = taskArithmetic('same-id', base, [a, b]);
    const first = await callUnary(c.merge, 'submitMerge', request);
    const second = await callUnary(c.merge, 'submitMerge', request);
    expect(first.deduplicated).toBe(false);
    expect(second.deduplicated).toBe(true);
    expect(second.job?.id).toBe(first.job?.id);

    const seen: Job[] = [];
    for await (const job of callServerStream(c.jobs, 'watchJob', { jobId: first.job!.id }, { deadline: Infinity })) seen.push(job);
    const last = seen[seen.length - 1];
    expect(last.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(last.attempts).toBe(1);
    expect(last.progress?.fraction).toBe(1);
    expect(last.outputs).toHaveLength(1);
    expect(seen.some((j) => j.state === JobState.JOB_STATE_RUNNING || j.state === JobState.JOB_STATE_QUEUED)).toBe(true);
    expect(await mergeArtifacts(c.artifacts, first.job!.id)).toHaveLength(1);
    const record = await callUnary(c.artifacts, 'getArtifact', { digest: last.outputs[0].digest });
    expect(record.files.map((f) => f.path)).toEqual(['config.json', 'model.safetensors']);
    expect(JSON.parse(record.recipeJson).requestId).toBe('same-id');

    const reused = await callUnary(c.merge, 'submitMerge', { ...request, spec: { ...request.spec!, parameters: { lambda: 2 } } }).catch((e: PatchworkError) => e);
    expect((reused as PatchworkError).code).toBe('ALREADY_EXISTS');
  });

  it('redelivers the job of a SIGKILLed worker to another worker, which finishes it with exactly one artifact', async () => {
    const { address } = await start({ workers: false });
    const c = clients(address);
    const base = await writeToyModel(path.join(root, 'base'), 1, 40);
    const a = await writeToyModel(path.join(root, 'a'), 2, 40);
    const env = {
      NATS_URL: natsUrl(),
      PATCHWORK_NATS_PREFIX: prefix,
      PATCHWORK_DATA_DIR: path.join(root, 'worker-1'),
      PATCHWORK_ACK_WAIT_MS: '2000',
      PATCHWORK_MAX_DELIVER: '5',
      PATCHWORK_MODEL_PATH_ROOTS: root,
      PATCHWORK_LOG_LEVEL: 'silent',
      TEST_TENSOR_DELAY_MS: '100',
    };
    const victim = await spawnWorker(env);
    const { job } = await callUnary(c.merge, 'submitMerge', taskArithmetic('kill-me', base, [a]));
    await until(c.jobs, job!.id, (j) => j.state === JobState.JOB_STATE_RUNNING && (j.progress?.done ?? 0) >= 2);
    victim.kill('SIGKILL');
    await new Promise((r) => victim.once('exit', r));

    await start({ modules: [slowMergeModule(5)], ackWaitMs: 2000, maxDeliver: 5 });
    const done = await until(c.jobs, job!.id, (j) => j.state === JobState.JOB_STATE_SUCCEEDED, 90_000);
    expect(done.attempts).toBeGreaterThanOrEqual(2);
    const artifacts = await mergeArtifacts(c.artifacts, job!.id);
    expect(artifacts).toHaveLength(1);
    expect(artifacts[0].digest).toBe(done.outputs[0].digest);
  });

  it('dead-letters a job that fails deterministically, with its reason', async () => {
    const api = await start({ workers: false });
    const c = clients(api.address);
    const base = await writeToyModel(path.join(root, 'base'), 1);
    const a = await writeToyModel(path.join(root, 'a'), 2);
    const { job } = await callUnary(c.merge, 'submitMerge', taskArithmetic('corrupted-later', base, [a]));
    // The checkpoint passes the pre-flight at submission, then is truncated before a worker runs.
    const file = path.join(a, 'model.safetensors');
    const bytes = await fs.readFile(file);
    await fs.writeFile(file, bytes.subarray(0, bytes.length - 10));
    const worker = await start();
    const failed = await until(c.jobs, job!.id, (j) => j.state === JobState.JOB_STATE_FAILED);
    expect(failed.error?.code).toBe('INVALID_ARGUMENT');
    expect(failed.attempts).toBe(1);
    const dead = await worker.platform.runtime.fabric.queue.deadLetters('merge');
    expect(dead).toHaveLength(1);
    expect(dead[0].reason).toMatch(/^INVALID_ARGUMENT: .*model\.safetensors/);
    expect(await mergeArtifacts(c.artifacts, job!.id)).toHaveLength(0);
  });

  it('cancels a running job: it stops, ends CANCELLED and leaves no artifact', async () => {
    const { address } = await start({ modules: [slowMergeModule(100)] });
    const c = clients(address);
    const base = await writeToyModel(path.join(root, 'base'), 1, 60);
    const a = await writeToyModel(path.join(root, 'a'), 2, 60);
    const { job } = await callUnary(c.merge, 'submitMerge', taskArithmetic('cancel-me', base, [a]));
    await until(c.jobs, job!.id, (j) => j.state === JobState.JOB_STATE_RUNNING && (j.progress?.done ?? 0) >= 1);
    const cancelling = await callUnary(c.jobs, 'cancelJob', { jobId: job!.id, reason: 'test' });
    expect([JobState.JOB_STATE_CANCELLING, JobState.JOB_STATE_CANCELLED]).toContain(cancelling.state);
    const ended = await until(c.jobs, job!.id, (j) => j.state === JobState.JOB_STATE_CANCELLED, 10_000);
    expect(ended.progress?.done ?? 0).toBeLessThan(60);
    expect(await mergeArtifacts(c.artifacts, job!.id)).toHaveLength(0);
    await expect(callUnary(c.jobs, 'cancelJob', { jobId: job!.id, reason: 'again' })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
  });

  it('answers health per service, refuses a wrong token, and rejects malformed requests with INVALID_ARGUMENT while staying healthy', async () => {
    const { address } = await start({ authToken: 'sesame' });
    for (const service of ['', 'patchwork.v1.Merge', 'patchwork.v1.Jobs', 'patchwork.v1.Artifacts']) {
      expect(await checkHealth({ address, service })).toBe('SERVING');
    }
    const wrong = clients(address, 'wrong');
    await expect(callUnary(wrong.jobs, 'getJob', { jobId: 'x' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const c = clients(address, 'sesame');
    const base = await writeToyModel(path.join(root, 'base'), 1);
    const a = await writeToyModel(path.join(root, 'a'), 2);
    const lying = await writeToyModel(path.join(root, 'lying'), 3);
    const truncated = await writeToyModel(path.join(root, 'truncated'), 4);
    const lyingFile = path.join(lying, 'model.safetensors');
    const lyingBytes = Buffer.from(await fs.readFile(lyingFile));
    lyingBytes.writeBigUInt64LE(BigInt(lyingBytes.length * 2), 0); // header length past the end of the file
    await fs.writeFile(lyingFile, lyingBytes);
    const truncatedFile = path.join(truncated, 'model.safetensors');
    await fs.writeFile(truncatedFile, (await fs.readFile(truncatedFile)).subarray(0, 200));

    const cases: [SubmitMergeRequest, RegExp][] = [
      [SubmitMergeRequest.fromPartial({ requestId: 'no-spec' }), /spec: required/],
      [taskArithmetic('', base, [a]), /request_id: required/],
      [taskArithmetic('neg', base, [a], { models: [{ model: pathSource(a), parameters: { weight: Number.NaN }, settings: {}, adapter: undefined }] }), /weight: must be finite/],
      [taskArithmetic('dtype', base, [a], { outDtype: 'int4' }), /out_dtype: unknown dtype "int4"/],
      [taskArithmetic('no-models', base, [], {}), /spec\.models: at least one model/],
      [taskArithmetic('lying', base, [lying]), /lying\/model\.safetensors/],
      [taskArithmetic('truncated', base, [truncated]), /truncated\/model\.safetensors/],
      [taskArithmetic('method', base, [a], { mergeMethod: 'frankenmerge' }), /unknown method "frankenmerge"/],
    ];
    for (const [request, message] of cases) {
      const err = (await callUnary(c.merge, 'submitMerge', request).then(() => undefined, (e: PatchworkError) => e)) as PatchworkError;
      expect(err?.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toMatch(message);
    }
    expect(await checkHealth({ address })).toBe('SERVING');
    const { artifacts } = await callUnary(c.artifacts, 'listArtifacts', { kind: ArtifactKind.ARTIFACT_KIND_MODEL, baseModelDigest: '' });
    expect(artifacts).toHaveLength(0);
  });

  it('`patchwork merge --remote` produces the same bytes as the in-process merge', async () => {
    const { address } = await start();
    await writeToyModel(path.join(root, 'base'), 1);
    await writeToyModel(path.join(root, 'a'), 2);
    await writeToyModel(path.join(root, 'b'), 3);
    const recipe = path.join(root, 'recipe.yaml');
    await fs.writeFile(recipe, 'merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - {model: a, parameters: {weight: 0.7}}\n  - {model: b, parameters: {weight: 0.3}}\nout_dtype: bfloat16\n');
    const cli = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [path.join(repoRoot, 'tools/cli/bin/patchwork.js'), ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('exit', (code) => resolve({ code, stderr }));
      });
    const local = await cli(['merge', '--config', recipe, '--out', path.join(root, 'local')]);
    expect(local.code).toBe(0);
    const remote = await cli(['merge', '--config', recipe, '--out', path.join(root, 'remote'), '--remote', address]);
    expect(remote.stderr).toContain('merged remotely');
    expect(remote.code).toBe(0);
    for (const file of ['model.safetensors', 'config.json']) {
      const [x, y] = await Promise.all([fs.readFile(path.join(root, 'local', file)), fs.readFile(path.join(root, 'remote', file))]);
      expect(x.equals(y)).toBe(true);
    }
  });
});
