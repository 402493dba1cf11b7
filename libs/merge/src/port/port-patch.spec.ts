import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { Checkpoint, DType, SeededRandom, encodeFloat32, writeSafetensors } from '@patchwork/tensor';
import { PEER_FIXTURES, maxAbsDiff, readAll } from '../testing/fixtures';
import { checkpointDigest } from './checkpoint-digest';
import { PORT_NOTE, portPatch } from './port-patch';

let root: string;
const IDS = { dtype: 'I64' as DType, shape: [2], data: new Uint8Array(new BigInt64Array([7n, 9n]).buffer) };

async function model(name: string, tensors: Record<string, { shape: number[]; values: number[]; dtype?: DType }>, modelType = 'toy'): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  const out: Record<string, { dtype: DType; shape: number[]; data: Uint8Array }> = { position_ids: IDS };
  for (const [key, t] of Object.entries(tensors)) out[key] = { dtype: t.dtype ?? 'F32', shape: t.shape, data: encodeFloat32(Float32Array.from(t.values), t.dtype ?? 'F32') };
  await writeSafetensors(path.join(dir, 'model.safetensors'), out, { format: 'pt' });
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: modelType, name }));
  return dir;
}

async function values(dir: string, name: string): Promise<number[]> {
  const ckpt = await Checkpoint.open(dir);
  try {
    return Array.from(await ckpt.readFloat32(name));
  } finally {
    await ckpt.close();
  }
}

async function failure(promise: Promise<unknown>): Promise<PatchworkError> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: PatchworkError) => e,
  );
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'merge-port-'));
  await model('v1', { 'layer.proj.weight': { shape: [2, 2], values: [1, 2, 3, 4] }, 'layer.proj.bias': { shape: [1], values: [0.5] } });
  // Continued pre-training moved some weights; the new release stores them in bfloat16.
  await model('v2', { 'layer.proj.weight': { shape: [2, 2], values: [1.5, 2, 3, 5], dtype: 'BF16' }, 'layer.proj.bias': { shape: [1], values: [1] } });
  await model('ft', { 'layer.proj.weight': { shape: [2, 2], values: [2, 2, 2.5, 4] }, 'layer.proj.bias': { shape: [1], values: [0.5] } });

  const adapter = path.join(root, 'adapter');
  await fs.mkdir(adapter);
  await fs.writeFile(path.join(adapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 1, lora_alpha: 2, target_modules: ['proj'], base_model_name_or_path: 'v1', fan_in_fan_out: false }));
  await writeSafetensors(path.join(adapter, 'adapter_model.safetensors'), {
    'base_model.model.layer.proj.lora_A.weight': { dtype: 'F32', shape: [1, 2], data: Float32Array.of(1, 0) },
    'base_model.model.layer.proj.lora_B.weight': { dtype: 'F32', shape: [2, 1], data: Float32Array.of(2, 1) },
  });
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('portPatch (PortLLM)', () => {
  it('ports a full fine-tune as new base + (fine-tuned − old base), in the new base\'s dtypes', async () => {
    const out = path.join(root, 'ported-ft');
    const report = await portPatch({ taskVectorModelDir: path.join(root, 'ft'), fromBaseDir: path.join(root, 'v1'), toBaseDir: path.join(root, 'v2'), outDir: out });
    // Δw = [1, 0, −0.5, 0] and Δb = 0: w′ = [1.5 + 1, 2, 3 − 0.5, 5], b′ = 1.
    expect(await values(out, 'layer.proj.weight')).toEqual([2.5, 2, 2.5, 5]);
    expect(await values(out, 'layer.proj.bias')).toEqual([1]);
    const ckpt = await Checkpoint.open(out);
    expect(ckpt.info('layer.proj.weight').dtype).toBe('BF16');
    expect(Array.from(new BigInt64Array((await ckpt.readRaw('position_ids')).slice().buffer))).toEqual([7n, 9n]);
    await ckpt.close();
    expect(report.mode).toBe('merged');
    expect(report.patchedTensors).toBe(1);
    expect(report.fromBase.digest).toBe(await checkpointDigest(path.join(root, 'v1')));
    expect(report.toBase.digest).toBe(await checkpointDigest(path.join(root, 'v2')));
    expect(report.fromBase.digest).not.toBe(report.toBase.digest);
    const note = JSON.parse(await fs.readFile(path.join(out, PORT_NOTE), 'utf8'));
    expect(note).toMatchObject({ kind: 'portllm', mode: 'merged', patch: { kind: 'task-vector' }, from_base: report.fromBase, to_base: report.toBase });
    expect(JSON.parse(await fs.readFile(path.join(out, 'config.json'), 'utf8')).name).toBe('v2');
    expect(report.files.map((f) => path.basename(f)).sort()).toEqual(['config.json', 'model.safetensors', PORT_NOTE]);
  });

  it('ports a LoRA adapter unchanged, retargeted at the new base, with the port recorded', async () => {
    const out = path.join(root, 'ported-adapter');
    const report = await portPatch({ adapterDir: path.join(root, 'adapter'), fromBaseDir: path.join(root, 'v1'), toBaseDir: path.join(root, 'v2'), outDir: out, toBaseName: 'org/base-v2', fromBaseDigest: 'sha256:v1' });
    expect(report).toMatchObject({ mode: 'adapter', patchedTensors: 1, fromBase: { digest: 'sha256:v1' }, patch: { kind: 'lora-adapter' } });
    const config = JSON.parse(await fs.readFile(path.join(out, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ base_model_name_or_path: 'org/base-v2', r: 1, lora_alpha: 2, revision: null });
    const [before, after] = await Promise.all(['adapter', 'ported-adapter'].map((d) => fs.readFile(path.join(root, d, 'adapter_model.safetensors'))));
    expect(after.equals(before)).toBe(true);
    expect(JSON.parse(await fs.readFile(path.join(out, PORT_NOTE), 'utf8')).to_base.digest).toBe(report.toBase.digest);
  });

  it('refuses bases whose shapes or tensors differ, naming each', async () => {
    const reshaped = await model('v2-reshaped', { 'layer.proj.weight': { shape: [1, 4], values: [1, 2, 3, 4] }, 'layer.proj.bias': { shape: [1], values: [1] }, 'layer.extra': { shape: [1], values: [0] } });
    const err = await failure(portPatch({ taskVectorModelDir: path.join(root, 'ft'), fromBaseDir: path.join(root, 'v1'), toBaseDir: reshaped, outDir: path.join(root, 'refused') }));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.message).toMatch(/layer\.proj\.weight \(shape \[2,2\] on the old base, \[1,4\] on the new\)/);
    expect(err.message).toMatch(/layer\.extra \(missing from the old base\)/);
    expect(err.violations.map((v) => v.field).sort()).toEqual(['layer.extra', 'layer.proj.weight']);
    await expect(fs.access(path.join(root, 'refused'))).rejects.toThrow();

    const otherArch = await model('v2-llama', { 'layer.proj.weight': { shape: [2, 2], values: [1, 2, 3, 4] }, 'layer.proj.bias': { shape: [1], values: [1] } }, 'llama');
    await expect(portPatch({ adapterDir: path.join(root, 'adapter'), fromBaseDir: path.join(root, 'v1'), toBaseDir: otherArch, outDir: path.join(root, 'refused') })).rejects.toThrow(
      /config\.model_type \(toy on the old base, llama on the new\)/,
    );
    await expect(portPatch({ taskVectorModelDir: path.join(root, 'ft'), fromBaseDir: path.join(root, 'v1'), toBaseDir: path.join(root, 'v2'), outDir: path.join(root, 'x'), mode: 'adapter' })).rejects.toThrow(
      /mode: a task vector has no adapter form/,
    );
  });

  it('merged mode equals PEFT\'s merge_and_unload on the same base, and carries the patch to a new one', async () => {
    const base = path.join(PEER_FIXTURES, 'models/gpt2');
    const adapter = path.join(PEER_FIXTURES, 'adapters/gpt2-lora');
    const peft = await readAll(path.join(adapter, 'merged_model.safetensors'));
    const same = path.join(root, 'gpt2-same');
    await portPatch({ adapterDir: adapter, fromBaseDir: base, toBaseDir: base, outDir: same, mode: 'merged' });
    const ported = await readAll(path.join(same, 'model.safetensors'));
    for (const [name, t] of ported) expect(maxAbsDiff(t.values, (peft.get(name) as { values: Float32Array }).values)).toBeLessThanOrEqual(1e-6);

    // An evolved base: every weight moved a little.
    const original = await readAll(path.join(base, 'model.safetensors'));
    const rng = new SeededRandom(3);
    const v2 = path.join(root, 'gpt2-v2');
    await fs.mkdir(v2);
    const evolved = Object.fromEntries([...original].map(([name, t]) => [name, { dtype: 'F32' as DType, shape: t.shape, data: t.values.map((x) => x + 0.01 * rng.nextGaussian()) }]));
    await writeSafetensors(path.join(v2, 'model.safetensors'), evolved, { format: 'pt' });
    await fs.copyFile(path.join(base, 'config.json'), path.join(v2, 'config.json'));
    const moved = path.join(root, 'gpt2-moved');
    const report = await portPatch({ adapterDir: adapter, fromBaseDir: base, toBaseDir: v2, outDir: moved, mode: 'merged' });
    expect(report.patchedTensors).toBe(8);
    const out = await readAll(path.join(moved, 'model.safetensors'));
    for (const [name, t] of out) {
      const delta = (peft.get(name) as { values: Float32Array }).values.map((m, j) => m - (original.get(name) as { values: Float32Array }).values[j]);
      expect(maxAbsDiff(t.values.map((x, j) => x - evolved[name].data[j]), delta)).toBeLessThanOrEqual(1e-6);
    }
    expect(JSON.parse(await fs.readFile(path.join(moved, PORT_NOTE), 'utf8')).mode).toBe('merged');
  });
});
