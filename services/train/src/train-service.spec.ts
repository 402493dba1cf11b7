import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtifactKind, type Job, JobsClient, JobState, SubmitTrainRequest, TrainClient } from '@patchwork/contracts';
import { saveTinyVit } from '@patchwork/evaluate/src/testing/tiny-models';
import { PatchworkError } from '@patchwork/errors';
import { callUnary, createGrpcClient, type JobContext, readPlatformConfig, type RunningPlatform, serve } from '@patchwork/platform';
import { initBackend } from '@patchwork/tensor';
import { TRAIN_METRICS_FILE, trainEvaluationName, trainServiceModule } from './index';
import { trainJobHandler } from './train-job';

let root: string;
let platform: RunningPlatform;
let train: TrainClient;
let jobs: JobsClient;
let vitDir: string;
let vitDigest: string;

const recipe = (extra = '') => `
method: lora
task: digits
parameters: { r: 4, lora_alpha: 8, target_modules: [query, value] }
data: { max_train_examples: 256, max_eval_examples: 64, max_test_examples: 128 }
trainer: { steps: 12, batch_size: 16, lr: 0.01, eval_every: 6, checkpoint_every: 4, seed: 3 }
${extra}`;

const artifactBase = () => ({ source: { $case: 'artifactDigest' as const, value: vitDigest } });

async function finished(jobId: string): Promise<Job> {
  for (;;) {
    const job = await callUnary(jobs, 'getJob', { jobId });
    if (job.state === JobState.JOB_STATE_SUCCEEDED || job.state === JobState.JOB_STATE_FAILED || job.state === JobState.JOB_STATE_CANCELLED) return job;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function adapterCount(): Promise<number> {
  return (await platform.runtime.artifacts.list({ kind: ArtifactKind.ARTIFACT_KIND_ADAPTER })).length;
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'train-svc-'));
  vitDir = await saveTinyVit(path.join(root, 'models', 'vit'), 1);
  const config = readPlatformConfig({}, { dataDir: path.join(root, 'data'), grpcPort: '0', services: 'train', modelPathRoots: path.join(root, 'models'), logLevel: 'silent' });
  platform = await serve({ config, modules: [trainServiceModule] });
  vitDigest = (await platform.runtime.artifacts.putDirectory(vitDir, { kind: ArtifactKind.ARTIFACT_KIND_MODEL, format: 'hf-safetensors' })).digest;
  train = createGrpcClient(TrainClient, { address: `127.0.0.1:${platform.port}` });
  jobs = createGrpcClient(JobsClient, { address: `127.0.0.1:${platform.port}` });
}, 60_000);

afterAll(async () => {
  train.close();
  jobs.close();
  await platform.close();
  await fs.rm(root, { recursive: true, force: true });
});

describe('train service', () => {
  it('trains a LoRA adapter into a PEFT-layout artifact with lineage, metrics, curves and an evaluation', async () => {
    const { job } = await callUnary(train, 'submitTrain', { requestId: 't1', baseModel: artifactBase(), configYaml: recipe(), labels: { team: 'vision' } });
    const done = await finished(job!.id);
    expect(done.error?.message).toBeUndefined();
    expect(done.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    const record = await platform.runtime.artifacts.get(done.outputs[0].digest);
    expect(record).toMatchObject({ kind: ArtifactKind.ARTIFACT_KIND_ADAPTER, format: 'peft', baseModelDigest: vitDigest, parents: [vitDigest], jobId: job!.id });
    expect(record.labels).toMatchObject({ team: 'vision', producer: 'train', method: 'lora', task: 'digits' });
    const evaluation = record.evaluations.find((e) => e.name === trainEvaluationName('digits'));
    expect(evaluation?.metrics.accuracy).toBeGreaterThanOrEqual(0);
    const dir = await platform.runtime.artifacts.materialize(record.digest);
    expect(JSON.parse(await fs.readFile(path.join(dir, 'adapter_config.json'), 'utf8'))).toMatchObject({ peft_type: 'LORA', r: 4, target_modules: ['query', 'value'] });
    const metrics = JSON.parse(await fs.readFile(path.join(dir, TRAIN_METRICS_FILE), 'utf8'));
    expect(metrics.metrics.test_accuracy).toBe(evaluation?.metrics.test_accuracy);
    expect(metrics.phases[0].lossHistory).toHaveLength(12);
    expect(metrics.phases[0].evalHistory.map((e: { step: number }) => e.step)).toEqual([6, 12]);
    expect(done.progress?.total).toBe(12);
  }, 120_000);

  it('refuses bad recipes at submission with INVALID_ARGUMENT naming the field', async () => {
    const refuse = async (configYaml: string, baseModel: ReturnType<typeof artifactBase> | undefined = artifactBase()) => {
      const err = await callUnary(train, 'submitTrain', { requestId: `bad-${Math.random()}`, baseModel, configYaml, labels: {} }).then(
        () => undefined,
        (e: unknown) => PatchworkError.from(e),
      );
      expect(err?.code).toBe('INVALID_ARGUMENT');
      return err?.message ?? '';
    };
    expect(await refuse('method: qlora\ntask: digits\n')).toMatch(/method/);
    expect(await refuse(recipe().replace('r: 4', 'r: 0'))).toMatch(/config_yaml\.parameters.*\br\b/);
    expect(await refuse('')).toMatch(/config_yaml/);
    const noBase = { source: undefined } as unknown as ReturnType<typeof artifactBase>;
    expect(await refuse(recipe(), noBase)).toMatch(/base_model/);
    expect(await refuse(`base_model: ../models/vit\n${recipe()}`, noBase)).toMatch(/base_model/);
    expect(await refuse(recipe().replace('task: digits', 'task: nonexistent'))).toMatch(/task/);
  });

  it('fails a job whose targets match no module before training, leaving no artifact', async () => {
    const before = await adapterCount();
    const { job } = await callUnary(train, 'submitTrain', { requestId: 't-notarget', baseModel: artifactBase(), configYaml: recipe().replace('[query, value]', '[no_such_module]'), labels: {} });
    const done = await finished(job!.id);
    expect(done.state).toBe(JobState.JOB_STATE_FAILED);
    expect(done.error?.message).toMatch(/no_such_module|match/);
    expect(await adapterCount()).toBe(before);
  }, 60_000);

  it('a job stopped part way (its worker shut down) resumes from its checkpoint and ends with the uninterrupted metrics', async () => {
    const handler = trainJobHandler(platform.runtime);
    const bytes = SubmitTrainRequest.encode({ requestId: 'r', baseModel: artifactBase(), configYaml: recipe(), labels: {} }).finish();
    const context = (id: string, attempt: number, stopAtStep?: number): JobContext => {
      const controller = new AbortController();
      return {
        job: { id } as Job,
        attempt,
        signal: controller.signal,
        logger: platform.runtime.logger,
        progress: async (u) => {
          if (stopAtStep !== undefined && u.stage === 'train' && (u.done ?? 0) >= stopAtStep) controller.abort('shutdown');
        },
        readCheckpoint: async () => null,
        writeCheckpoint: async () => undefined,
      } as JobContext;
    };
    const straight = await handler(bytes, context('straight', 1));
    await expect(handler(bytes, context('resumed', 1, 6))).rejects.toMatchObject({ code: expect.stringMatching(/CANCELLED|UNAVAILABLE|ABORTED/) });
    const checkpoints = await fs.readdir(path.join(platform.runtime.scratchDir, 'resumed', 'checkpoints', 'train'));
    expect(checkpoints.length).toBeGreaterThan(0);
    const resumed = await handler(bytes, context('resumed', 2));
    // Same recipe, same seed, continued from the checkpoint: the very same weights and metrics
    // (the bundles differ only in timings recorded in train_metrics.json).
    const read = async (digest: string, file: string) => fs.readFile(path.join(await platform.runtime.artifacts.materialize(digest), file));
    expect((await read(resumed.outputs[0].digest, 'adapter_model.safetensors')).equals(await read(straight.outputs[0].digest, 'adapter_model.safetensors'))).toBe(true);
    const metrics = async (digest: string) => JSON.parse((await read(digest, TRAIN_METRICS_FILE)).toString()).metrics;
    expect(await metrics(resumed.outputs[0].digest)).toEqual(await metrics(straight.outputs[0].digest));
    await expect(fs.access(path.join(platform.runtime.scratchDir, 'resumed'))).rejects.toThrow();
  }, 180_000);

  it('builds a backbone as a model artifact', async () => {
    const { job } = await callUnary(train, 'buildBackbone', { requestId: 'b1', name: 'vit-digits', evolved: false, seed: 0, steps: 3, labels: {} });
    const done = await finished(job!.id);
    expect(done.error?.message).toBeUndefined();
    const record = await platform.runtime.artifacts.get(done.outputs[0].digest);
    expect(record).toMatchObject({ kind: ArtifactKind.ARTIFACT_KIND_MODEL, format: 'hf-safetensors' });
    expect(record.labels).toMatchObject({ producer: 'train', backbone: 'vit-digits' });
    await expect(callUnary(train, 'buildBackbone', { requestId: 'b2', name: 'resnet', evolved: false, seed: 0, steps: 0, labels: {} })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(callUnary(train, 'buildBackbone', { requestId: 'b3', name: 'vit-digits', evolved: true, seed: 0, steps: 0, labels: {} })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  }, 120_000);
});
