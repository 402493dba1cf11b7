import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EvaluateClient, Job, JobsClient, JobState, SubmitEvaluationRequest } from '@patchwork/contracts';
import { saveTinyVit as saveVit } from '@patchwork/evaluate/src/testing/tiny-models';
import { callUnary, createGrpcClient, readPlatformConfig, RunningPlatform, serve } from '@patchwork/platform';
import { tf } from '@patchwork/tensor';
import { evaluationCaches } from './evaluation-inputs';
import { evaluateServiceModule, RESULTS_FILE, samplesFile } from './index';

let root: string;
let platform: RunningPlatform;
let evaluate: EvaluateClient;
let jobs: JobsClient;

async function finished(jobId: string): Promise<Job> {
  for (;;) {
    const job = await callUnary(jobs, 'getJob', { jobId });
    if (job.state === JobState.JOB_STATE_SUCCEEDED) return job;
    if (job.state === JobState.JOB_STATE_FAILED || job.state === JobState.JOB_STATE_CANCELLED) throw new Error(`job ${jobId} ended ${JobState[job.state]}: ${job.error?.message}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function results(job: Job): Promise<{ results: Record<string, unknown>; samples: string; raw: Record<string, unknown> }> {
  const dir = await platform.runtime.artifacts.materialize(job.outputs[0].digest);
  const raw = JSON.parse(await fs.readFile(path.join(dir, RESULTS_FILE), 'utf8'));
  return { results: raw.results, samples: await fs.readFile(path.join(dir, samplesFile('digits')), 'utf8'), raw };
}

function request(requestId: string, modelDir: string, shardSize: number, extra: Partial<SubmitEvaluationRequest> = {}): SubmitEvaluationRequest {
  return SubmitEvaluationRequest.fromPartial({ requestId, model: { source: { $case: 'path', value: modelDir } }, task: 'digits', batchSize: 16, shardSize, limit: 96, ...extra });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'eval-svc-')));
  const config = readPlatformConfig({}, { dataDir: path.join(root, 'data'), grpcPort: '0', services: 'evaluate', modelPathRoots: root, logLevel: 'silent', workerConcurrency: '2' });
  platform = await serve({ config, modules: [evaluateServiceModule] });
  evaluate = createGrpcClient(EvaluateClient, { address: `127.0.0.1:${platform.port}` });
  jobs = createGrpcClient(JobsClient, { address: `127.0.0.1:${platform.port}` });
});

afterAll(async () => {
  evaluate.close();
  jobs.close();
  await platform.close();
  await fs.rm(root, { recursive: true, force: true });
});

describe('evaluate service', () => {
  it('gives identical results and samples whether the job runs in 1 or 3 shards', async () => {
    const model = await saveVit(path.join(root, 'vit-a'), 3);
    const one = await callUnary(evaluate, 'submitEvaluation', request('one-shard', model, 96));
    const three = await callUnary(evaluate, 'submitEvaluation', request('three-shards', model, 32));
    const [a, b] = await Promise.all([finished(one.job!.id), finished(three.job!.id)]);
    const [ra, rb] = await Promise.all([results(a), results(b)]);
    expect(rb.results).toEqual(ra.results);
    expect(rb.samples).toBe(ra.samples);
    expect(rb.samples.trim().split('\n')).toHaveLength(96);
    const digits = ra.results['digits'] as Record<string, number>;
    expect(digits['acc,none']).toBeGreaterThanOrEqual(0);
    expect(digits['acc,none']).toBeLessThanOrEqual(1);
  });

  it('compares two versions on the same task (MUSCLE flips) and applies a promotion gate', async () => {
    const oldModel = await saveVit(path.join(root, 'vit-old'), 5);
    const newModel = await saveVit(path.join(root, 'vit-new'), 6);
    const before = await finished((await callUnary(evaluate, 'submitEvaluation', request('old', oldModel, 48))).job!.id);
    const gate = { all: [{ metric: 'accuracy', op: '>=', value: 0.99 }, { metric: 'negative_flip_rate', op: '<=', value: 1 }] };
    const after = await finished(
      (await callUnary(evaluate, 'submitEvaluation', request('new', newModel, 48, { baselineJobId: before.id, gateJson: JSON.stringify(gate) }))).job!.id,
    );
    const report = (await results(after)).raw as { compatibility: { negative_flip_rate: number; n: number }; gate: { promoted: boolean; reasons: string[] } };
    expect(report.compatibility.n).toBe(96);
    expect(report.compatibility.negative_flip_rate).toBeGreaterThanOrEqual(0);
    expect(report.gate.promoted).toBe(false);
    expect(report.gate.reasons.join(' ')).toContain('accuracy');

    const compared = await finished((await callUnary(evaluate, 'compareModels', { requestId: 'cmp', oldJobId: before.id, newJobId: after.id })).job!.id);
    const dir = await platform.runtime.artifacts.materialize(compared.outputs[0].digest);
    const compat = JSON.parse(await fs.readFile(path.join(dir, 'compatibility.json'), 'utf8'));
    expect(compat.negative_flip_rate).toBe(report.compatibility.negative_flip_rate);
  });

  it('loads a model once for all the shards and jobs that use it, reloads it when its files change, and frees it on eviction', async () => {
    const { models } = evaluationCaches(platform.runtime);
    models.clear();
    const tensorsBefore = tf.memory().numTensors;
    const count = () => {
      const { hits, misses } = models.stats();
      return hits + misses;
    };
    const dir = await saveVit(path.join(root, 'vit-cache'), 8);
    const start = models.stats();
    const acquisitions = () => count() - (start.hits + start.misses);
    // 96 documents in shards of 16: six shards, two at a time (worker concurrency 2), one load.
    const explicit = await results(await finished((await callUnary(evaluate, 'submitEvaluation', request('cache-explicit', dir, 16))).job!.id));
    expect(models.stats().misses - start.misses).toBe(1);
    expect(acquisitions()).toBe(6);
    // Batches of 8 in one shard, then with no shard size: dealt into 12 shards of one batch
    // (autoShardSize). Same numbers either way, and still no second load.
    const whole = await results(await finished((await callUnary(evaluate, 'submitEvaluation', request('cache-whole', dir, 96, { batchSize: 8 }))).job!.id));
    const auto = await results(await finished((await callUnary(evaluate, 'submitEvaluation', request('cache-auto', dir, 0, { batchSize: 8 }))).job!.id));
    expect(acquisitions()).toBe(6 + 1 + 12);
    expect(models.stats().misses - start.misses).toBe(1);
    expect(auto.results).toEqual(whole.results);
    expect(auto.samples).toBe(whole.samples);
    expect(explicit.samples.trim().split('\n')).toHaveLength(96);

    // The same path rewritten with other weights is another model.
    await saveVit(dir, 9);
    const rewritten = await results(await finished((await callUnary(evaluate, 'submitEvaluation', request('cache-rewritten', dir, 16))).job!.id));
    expect(models.stats().misses - start.misses).toBe(2);
    expect(rewritten.samples).not.toBe(explicit.samples);
    expect(models.stats().entries).toBeLessThanOrEqual(2);
    models.clear();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('refuses bad requests before accepting a job', async () => {
    const model = await saveVit(path.join(root, 'vit-b'), 7);
    await expect(callUnary(evaluate, 'submitEvaluation', request('bad-task', model, 32, { task: 'no-such-task' }))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(callUnary(evaluate, 'submitEvaluation', request('bad-shard', model, 8))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(callUnary(evaluate, 'submitEvaluation', request('bad-gate', model, 32, { gateJson: '{"metric": 1}' }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(callUnary(evaluate, 'compareModels', { requestId: '', oldJobId: '', newJobId: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
