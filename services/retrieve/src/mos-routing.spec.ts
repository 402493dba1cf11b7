import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtifactKind, RetrieveClient } from '@patchwork/contracts';
import type { Model } from '@patchwork/models';
import { LoraAdapter } from '@patchwork/peft';
import { callUnary, createGrpcClient, readPlatformConfig, RunningPlatform, serve } from '@patchwork/platform';
import { MosLearner, saveMosAdapterSet } from '@patchwork/retrieve';
import { learnSplitDigits, saveModelDir, type TaskImages } from '@patchwork/retrieve/src/testing/mos-fixture';
import { tinyVit } from '@patchwork/retrieve/src/testing/tiny-vit';
import { SafetensorsFile, initBackend, writeSafetensors } from '@patchwork/tensor';
import { retrieveServiceModule } from './index';
import { MOS_ROLE_LABEL, MOS_ROUTER_ROLE, type RegisteredMosSet, registerMosAdapterSet } from './mos-registry';

let root: string;
let platform: RunningPlatform;
let client: RetrieveClient;
let model: Model;
let learner: MosLearner;
let test: TaskImages;
let base: string;
let set: RegisteredMosSet;
let lora: string;

async function imageBlob(images: readonly Float32Array[]): Promise<Buffer> {
  const file = path.join(root, `in-${Math.random().toString(36).slice(2)}.safetensors`);
  const data = new Float32Array(images.length * 64);
  images.forEach((x, i) => data.set(x, i * 64));
  await writeSafetensors(file, { pixel_values: { dtype: 'F32', shape: [images.length, 1, 8, 8], data } });
  return fs.readFile(file);
}

async function logitsOf(blob: Uint8Array): Promise<{ data: Float32Array; shape: number[] }> {
  const file = path.join(root, `out-${Math.random().toString(36).slice(2)}.safetensors`);
  await fs.writeFile(file, blob);
  const st = await SafetensorsFile.open(file);
  try {
    return { data: await st.readFloat32('logits'), shape: st.info('logits').shape };
  } finally {
    await st.close();
  }
}

function softmax(row: Float32Array): Float32Array {
  const max = Math.max(...row);
  const e = row.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'retrieve-mos-')));
  model = tinyVit(5);
  ({ learner, test } = await learnSplitDigits(model, { tasks: 3, perClass: 30 }));
  const config = readPlatformConfig({}, { dataDir: path.join(root, 'data'), grpcPort: '0', services: 'retrieve', logLevel: 'silent' });
  platform = await serve({ config, modules: [retrieveServiceModule] });
  client = createGrpcClient(RetrieveClient, { address: `127.0.0.1:${platform.port}` });
  const artifacts = platform.runtime.artifacts;
  base = (await artifacts.putDirectory(await saveModelDir(model, path.join(root, 'base')), { kind: ArtifactKind.ARTIFACT_KIND_MODEL, format: 'hf-safetensors' })).digest;
  set = await registerMosAdapterSet(artifacts, await saveMosAdapterSet(learner, path.join(root, 'mos')), { baseModelDigest: base, labels: { task: 'split-digits' } });
  // An adapter with a better recorded accuracy: content-based routing must not fall back to it.
  const loraDir = path.join(root, 'lora');
  const adapter = LoraAdapter.create(model, { r: 2, target_modules: ['query', 'value'] }, { seed: 1 });
  await adapter.save(loraDir);
  adapter.dispose();
  lora = (await artifacts.putDirectory(loraDir, { kind: ArtifactKind.ARTIFACT_KIND_ADAPTER, format: 'peft', baseModelDigest: base })).digest;
  await artifacts.addEvaluation(lora, { name: 'digits', metrics: { accuracy: 0.99 }, atMs: 1 });
}, 60_000);

afterAll(async () => {
  client?.close();
  await platform?.close();
  learner?.dispose();
  model?.dispose();
  await fs.rm(root, { recursive: true, force: true });
});

describe('retrieve service: content-based routing through a MOS adapter set [wasm]', () => {
  it("ranks a digit image's task adapters as the learner's self-refined retrieval does", async () => {
    const images = test.inputs.filter((_, i) => i % 6 === 0);
    const truth = test.taskIds.filter((_, i) => i % 6 === 0);
    const expected = learner.retrieve(images);
    let right = 0;
    for (const [i, image] of images.entries()) {
      const res = await callUnary(client, 'retrieve', { baseModelDigest: base, inputsSafetensors: await imageBlob([image]), topK: 0 });
      expect(res.adapters.map((a) => a.adapterDigest).sort()).toEqual([...set.tasks].sort());
      expect(res.adapters[0].adapterDigest).toBe(set.tasks[expected[i].taskId]);
      for (const a of res.adapters) expect(a.score).toBeCloseTo(expected[i].scores[set.tasks.indexOf(a.adapterDigest)], 5);
      if (expected[i].taskId === truth[i]) right++;
    }
    // The tiny random backbone routes most digits to their own task (the learner measures 0.73 on all of them).
    expect(right / images.length).toBeGreaterThanOrEqual(0.6);
    const top1 = await callUnary(client, 'retrieve', { baseModelDigest: base, inputsSafetensors: await imageBlob([images[0]]), topK: 1 });
    expect(top1.adapters).toHaveLength(1);
  });

  it('predicts an image through the task adapter MOS chose: the head logits under that adapter', async () => {
    for (const t of [0, 1, 2]) {
      const image = test.inputs[test.taskIds.indexOf(t)];
      const [route] = learner.retrieve([image]);
      const res = await callUnary(client, 'predict', { baseModelDigest: base, inputsSafetensors: await imageBlob([image]), adapterDigest: '' });
      expect(res.adapterDigest).toBe(set.tasks[route.taskId]);
      const logits = await logitsOf(res.outputsSafetensors);
      expect(logits.shape).toEqual([1, 6]);
      const head = learner.predict([image], { taskId: route.taskId, ensemble: false }).scores;
      softmax(logits.data).forEach((p, j) => expect(p).toBeCloseTo(head[j], 5));
      // The same adapter named explicitly gives the same answer.
      const named = await callUnary(client, 'predict', { baseModelDigest: base, inputsSafetensors: await imageBlob([image]), adapterDigest: res.adapterDigest });
      expect(Array.from((await logitsOf(named.outputsSafetensors)).data)).toEqual(Array.from(logits.data));
    }
    // Several images in one request go where most of them route.
    const images = test.inputs.slice(0, 5);
    const votes = new Map<number, number>();
    for (const r of learner.retrieve(images)) votes.set(r.taskId, (votes.get(r.taskId) ?? 0) + 1);
    const res = await callUnary(client, 'predict', { baseModelDigest: base, inputsSafetensors: await imageBlob(images), adapterDigest: '' });
    expect(votes.get(set.tasks.indexOf(res.adapterDigest))).toBe(Math.max(...votes.values()));
    expect((await logitsOf(res.outputsSafetensors)).shape).toEqual([5, 6]);
  });

  it('keeps the router out of registry ranking and refuses to predict through it', async () => {
    const byEvaluations = await callUnary(client, 'retrieve', { baseModelDigest: base, inputsSafetensors: Buffer.alloc(0), topK: 0 });
    expect(byEvaluations.adapters[0]).toEqual({ adapterDigest: lora, score: 0.99 });
    expect(byEvaluations.adapters.map((a) => a.adapterDigest)).not.toContain(set.router);
    await expect(callUnary(client, 'predict', { baseModelDigest: base, inputsSafetensors: await imageBlob([test.inputs[0]]), adapterDigest: set.router })).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringContaining('MOS router'),
    });
    await expect(callUnary(client, 'predictMany', { baseModelDigest: base, inputsSafetensors: await imageBlob([test.inputs[0]]), adapterDigests: [set.tasks[0], set.router] })).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
    const nan = new Float32Array(64).fill(Number.NaN);
    await expect(callUnary(client, 'retrieve', { baseModelDigest: base, inputsSafetensors: await imageBlob([nan]), topK: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('pixel_values'),
    });
  });

  it('refuses to route with a set whose task adapters are missing (a newer router supersedes the older)', async () => {
    const other = MosLearner.create(model, { adapter: { bottleneck: 2, dropout: 0 }, training: { epochs: 1 }, seed: 4 });
    await other.learnTask({ inputs: test.inputs.slice(0, 8), labels: Array.from(test.labels.slice(0, 8)) });
    const dirs = await saveMosAdapterSet(other, path.join(root, 'newer'));
    other.dispose();
    const router = await platform.runtime.artifacts.putDirectory(dirs.router, { kind: ArtifactKind.ARTIFACT_KIND_ADAPTER, format: 'peft', baseModelDigest: base, labels: { [MOS_ROLE_LABEL]: MOS_ROUTER_ROLE } });
    await expect(callUnary(client, 'predict', { baseModelDigest: base, inputsSafetensors: await imageBlob([test.inputs[0]]), adapterDigest: '' })).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringContaining(`MOS router ${router.digest}`),
    });
  });
});
