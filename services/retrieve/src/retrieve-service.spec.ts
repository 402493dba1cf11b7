import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtifactKind, RetrieveClient } from '@patchwork/contracts';
import { callUnary, createGrpcClient, readPlatformConfig, RunningPlatform, serve } from '@patchwork/platform';
import { SafetensorsFile, tf, writeSafetensors } from '@patchwork/tensor';
import { retrieveServiceModule } from './index';

const FIXTURES = path.resolve(__dirname, '../../../../shared/fixtures/peer');
const VIT = path.join(FIXTURES, 'models/vit');
const VIT_LORA = path.join(FIXTURES, 'adapters/vit-lora');

let root: string;
let platform: RunningPlatform;
let client: RetrieveClient;
let base: string;
let otherBase: string;
let lora: string;
let loraX2: string;
let pixels: { data: Float32Array; shape: number[] };
let referenceLogits: Float32Array;
let pixelBlob: Buffer;

async function readTensors(file: string): Promise<Map<string, { data: Float32Array; shape: number[] }>> {
  const st = await SafetensorsFile.open(file);
  try {
    const out = new Map<string, { data: Float32Array; shape: number[] }>();
    for (const name of st.names()) out.set(name, { data: await st.readFloat32(name), shape: st.info(name).shape });
    return out;
  } finally {
    await st.close();
  }
}

async function blobOf(tensors: Record<string, { dtype: 'F32' | 'I64'; shape: number[]; data: Float32Array | BigInt64Array }>): Promise<Buffer> {
  const file = path.join(root, `blob-${Math.random().toString(36).slice(2)}.safetensors`);
  await writeSafetensors(file, tensors);
  return fs.readFile(file);
}

async function logitsOf(blob: Uint8Array): Promise<{ data: Float32Array; shape: number[] }> {
  const file = path.join(root, `out-${Math.random().toString(36).slice(2)}.safetensors`);
  await fs.writeFile(file, blob);
  const tensors = await readTensors(file);
  expect([...tensors.keys()]).toEqual(['logits']);
  return tensors.get('logits') as { data: Float32Array; shape: number[] };
}

/** A PEFT directory with the fixture's weights and `lora_alpha` overridden (a distinct adapter). */
async function adapterDir(name: string, alpha?: number): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  const config = JSON.parse(await fs.readFile(path.join(VIT_LORA, 'adapter_config.json'), 'utf8'));
  if (alpha !== undefined) config.lora_alpha = alpha;
  await fs.writeFile(path.join(dir, 'adapter_config.json'), JSON.stringify(config));
  await fs.copyFile(path.join(VIT_LORA, 'adapter_model.safetensors'), path.join(dir, 'adapter_model.safetensors'));
  return dir;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'retrieve-svc-')));
  const config = readPlatformConfig({}, { dataDir: path.join(root, 'data'), grpcPort: '0', services: 'retrieve', logLevel: 'silent' });
  platform = await serve({ config, modules: [retrieveServiceModule] });
  client = createGrpcClient(RetrieveClient, { address: `127.0.0.1:${platform.port}` });
  const artifacts = platform.runtime.artifacts;
  base = (await artifacts.putDirectory(VIT, { kind: ArtifactKind.ARTIFACT_KIND_MODEL, format: 'hf-safetensors' })).digest;
  // The same weights under another identity: a second base the adapters were not trained on.
  const other = path.join(root, 'vit-other');
  await fs.mkdir(other);
  await fs.copyFile(path.join(VIT, 'model.safetensors'), path.join(other, 'model.safetensors'));
  const vitConfig = JSON.parse(await fs.readFile(path.join(VIT, 'config.json'), 'utf8'));
  await fs.writeFile(path.join(other, 'config.json'), JSON.stringify({ ...vitConfig, _name_or_path: 'vit-other' }));
  otherBase = (await artifacts.putDirectory(other, { kind: ArtifactKind.ARTIFACT_KIND_MODEL, format: 'hf-safetensors' })).digest;
  lora = (await artifacts.putDirectory(await adapterDir('lora'), { kind: ArtifactKind.ARTIFACT_KIND_ADAPTER, format: 'peft', baseModelDigest: base, labels: { task: 'digits' } })).digest;
  loraX2 = (await artifacts.putDirectory(await adapterDir('lora-x2', 16), { kind: ArtifactKind.ARTIFACT_KIND_ADAPTER, format: 'peft', baseModelDigest: base })).digest;
  await artifacts.addEvaluation(lora, { name: 'digits', metrics: { accuracy: 0.9 }, atMs: 1 });
  await artifacts.addEvaluation(loraX2, { name: 'digits', metrics: { accuracy: 0.6 }, atMs: 1 });

  const reference = await readTensors(path.join(VIT_LORA, 'reference.safetensors'));
  pixels = reference.get('pixel_values') as { data: Float32Array; shape: number[] };
  referenceLogits = (reference.get('logits') as { data: Float32Array }).data;
  pixelBlob = await blobOf({ pixel_values: { dtype: 'F32', ...pixels } });
}, 30_000);

afterAll(async () => {
  client?.close();
  await platform?.close();
  await fs.rm(root, { recursive: true, force: true });
});

describe('retrieve service', () => {
  it('ranks the registry adapters of a base by recorded accuracy, top_k first', async () => {
    const all = await callUnary(client, 'retrieve', { baseModelDigest: base, inputsSafetensors: pixelBlob, topK: 0 });
    expect(all.adapters).toEqual([
      { adapterDigest: lora, score: 0.9 },
      { adapterDigest: loraX2, score: 0.6 },
    ]);
    const one = await callUnary(client, 'retrieve', { baseModelDigest: base, inputsSafetensors: Buffer.alloc(0), topK: 1 });
    expect(one.adapters.map((a) => a.adapterDigest)).toEqual([lora]);
    // Adapters exist but all were trained on another base (and none is ported): refused, not an empty list.
    await expect(callUnary(client, 'retrieve', { baseModelDigest: otherBase, inputsSafetensors: Buffer.alloc(0), topK: 3 })).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringContaining('trained on other bases'),
    });
  });

  it('predicts through a named adapter and matches the PEFT reference logits', async () => {
    const res = await callUnary(client, 'predict', { baseModelDigest: base, inputsSafetensors: pixelBlob, adapterDigest: lora });
    expect(res.adapterDigest).toBe(lora);
    const logits = await logitsOf(res.outputsSafetensors);
    expect(logits.shape).toEqual([2, 5]);
    expect(maxAbsDiff(logits.data, referenceLogits)).toBeLessThan(1e-4);
  });

  it('picks the top-ranked adapter when none is named', async () => {
    const res = await callUnary(client, 'predict', { baseModelDigest: base, inputsSafetensors: pixelBlob, adapterDigest: '' });
    expect(res.adapterDigest).toBe(lora);
    expect(maxAbsDiff((await logitsOf(res.outputsSafetensors)).data, referenceLogits)).toBeLessThan(1e-4);
  });

  it('fans one input out to several adapters, each as if predicted alone', async () => {
    const many = await callUnary(client, 'predictMany', { baseModelDigest: base, inputsSafetensors: pixelBlob, adapterDigests: [lora, loraX2] });
    expect(many.predictions.map((p) => p.adapterDigest)).toEqual([lora, loraX2]);
    const [a, b] = await Promise.all(many.predictions.map((p) => logitsOf(p.outputsSafetensors)));
    expect(maxAbsDiff(a.data, referenceLogits)).toBeLessThan(1e-4);
    const alone = await logitsOf((await callUnary(client, 'predict', { baseModelDigest: base, inputsSafetensors: pixelBlob, adapterDigest: loraX2 })).outputsSafetensors);
    expect(maxAbsDiff(b.data, alone.data)).toBeLessThan(1e-5);
    // Doubling alpha must change the outputs, or the fan-out could be serving one adapter twice.
    expect(maxAbsDiff(b.data, a.data)).toBeGreaterThan(1e-3);
  });

  it('refuses malformed inputs with INVALID_ARGUMENT naming the problem', async () => {
    const predict = (inputs: Uint8Array) => callUnary(client, 'predict', { baseModelDigest: base, inputsSafetensors: Buffer.from(inputs), adapterDigest: lora });
    await expect(predict(Buffer.from('not safetensors at all'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('not a valid safetensors') });
    await expect(predict(Buffer.alloc(0))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('inputs_safetensors') });
    const wrongSize = await blobOf({ pixel_values: { dtype: 'F32', shape: [1, 3, 8, 8], data: new Float32Array(3 * 64) } });
    await expect(predict(wrongSize)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('pixelValues') });
    const empty = await blobOf({ pixel_values: { dtype: 'F32', shape: [0, 3, 16, 16], data: new Float32Array(0) } });
    await expect(predict(empty)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('batch >= 1') });
    const other = await blobOf({ hidden: { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
    await expect(predict(other)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('hidden') });
    const tokens = await blobOf({ input_ids: { dtype: 'I64', shape: [1, 2], data: new BigInt64Array([1n, 2n]) } });
    await expect(predict(tokens)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('pixelValues') });
    await expect(callUnary(client, 'predictMany', { baseModelDigest: base, inputsSafetensors: pixelBlob, adapterDigests: [] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(callUnary(client, 'retrieve', { baseModelDigest: base, inputsSafetensors: Buffer.from('junk'), topK: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(callUnary(client, 'retrieve', { baseModelDigest: 'not-a-digest', inputsSafetensors: Buffer.alloc(0), topK: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(callUnary(client, 'predict', { baseModelDigest: '', inputsSafetensors: pixelBlob, adapterDigest: lora })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('base_model_digest') });
  });

  it('answers NOT_FOUND for unknown bases and adapters, FAILED_PRECONDITION for another base', async () => {
    const unknown = 'f'.repeat(64);
    await expect(callUnary(client, 'predict', { baseModelDigest: unknown, inputsSafetensors: pixelBlob, adapterDigest: lora })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(callUnary(client, 'retrieve', { baseModelDigest: unknown, inputsSafetensors: Buffer.alloc(0), topK: 1 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(callUnary(client, 'predict', { baseModelDigest: base, inputsSafetensors: pixelBlob, adapterDigest: unknown })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(callUnary(client, 'predictMany', { baseModelDigest: base, inputsSafetensors: pixelBlob, adapterDigests: [lora, unknown] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(callUnary(client, 'predict', { baseModelDigest: otherBase, inputsSafetensors: pixelBlob, adapterDigest: lora })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await expect(callUnary(client, 'predict', { baseModelDigest: otherBase, inputsSafetensors: pixelBlob, adapterDigest: '' })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await expect(callUnary(client, 'predict', { baseModelDigest: lora, inputsSafetensors: pixelBlob, adapterDigest: lora })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await expect(callUnary(client, 'retrieve', { baseModelDigest: lora, inputsSafetensors: Buffer.alloc(0), topK: 1 })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining('not a model') });
  });
});
