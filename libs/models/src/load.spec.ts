import { PatchworkError } from '@patchwork/errors';
import { Checkpoint, SafetensorsFile, type TensorData, encodeValues, planShards, tf, writeSafetensors, writeShardedCheckpoint } from '@patchwork/tensor';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { loadModel } from './load';
import { FIXTURES, disposeAll, maxAbsDiff, peerModelDir, readAll } from './testing/fixtures';

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(nodePath.join(tmpdir(), 'patchwork-models-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Round-to-nearest-even to bfloat16, widened back to float32 (independent of the tensor lib's codec). */
function roundToBf16(values: Float32Array): Float32Array {
  const bits = new Uint32Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  for (let i = 0; i < bits.length; i++) bits[i] = ((bits[i] + 0x7fff + ((bits[i] >>> 16) & 1)) & 0xffff0000) >>> 0;
  return new Float32Array(bits.buffer);
}

async function rawTensors(path: string): Promise<Array<{ name: string; shape: number[]; data: Float32Array }>> {
  const file = await SafetensorsFile.open(path);
  try {
    const out = [];
    for (const info of file.tensors) out.push({ name: info.name, shape: [...info.shape], data: await file.readFloat32(info.name) });
    return out;
  } finally {
    await file.close();
  }
}

/** A model directory with `name`'s config and the given tensors in one F32 file. */
async function writeModelDir(dir: string, name: string, tensors: Record<string, TensorData>, config?: object): Promise<string> {
  await mkdir(dir, { recursive: true });
  if (config === undefined) await copyFile(nodePath.join(peerModelDir(name), 'config.json'), nodePath.join(dir, 'config.json'));
  else await writeFile(nodePath.join(dir, 'config.json'), JSON.stringify(config));
  await writeSafetensors(nodePath.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  return dir;
}

async function fixtureTensors(name: string, rename: (key: string) => string | undefined = (k) => k): Promise<Record<string, TensorData>> {
  const out: Record<string, TensorData> = {};
  for (const t of await rawTensors(nodePath.join(peerModelDir(name), 'model.safetensors'))) {
    const key = rename(t.name);
    if (key !== undefined) out[key] = { dtype: 'F32', shape: t.shape, data: t.data };
  }
  return out;
}

async function logitsOf(dir: string, inputs: Map<string, tf.Tensor>): Promise<tf.Tensor> {
  const model = await loadModel(dir);
  try {
    return model.forward({ inputIds: inputs.get('input_ids'), attentionMask: inputs.get('attention_mask'), pixelValues: inputs.get('pixel_values') }).logits;
  } finally {
    model.dispose();
  }
}

async function rejection(p: Promise<unknown>): Promise<PatchworkError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(PatchworkError);
    return e as PatchworkError;
  }
  throw new Error('expected a rejection');
}

describe.each(['llama', 'gpt2'])('%s in BF16, sharded over two files', (name) => {
  it('loads to exactly the logits of its F32 twin rounded to BF16, and close to the F32 reference', async () => {
    const tensors = await rawTensors(nodePath.join(peerModelDir(name), 'model.safetensors'));
    const shardedDir = nodePath.join(tmp, `${name}-bf16`);
    const specs = tensors.map((t) => ({ name: t.name, dtype: 'BF16' as const, shape: t.shape }));
    let maxShardBytes = Math.ceil(tensors.reduce((n, t) => n + 2 * t.data.length, 0) / 2);
    while (planShards(specs, maxShardBytes).length > 2) maxShardBytes += 64;
    const { files } = await writeShardedCheckpoint(
      shardedDir,
      specs,
      (tensorName) => encodeValues((tensors.find((t) => t.name === tensorName) as { data: Float32Array }).data, 'BF16', tensorName),
      { maxShardBytes },
    );
    expect(files.map((f) => nodePath.basename(f))).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
    await copyFile(nodePath.join(peerModelDir(name), 'config.json'), nodePath.join(shardedDir, 'config.json'));
    const ckpt = await Checkpoint.open(shardedDir);
    expect(ckpt.info(tensors[0].name).dtype).toBe('BF16');
    await ckpt.close();

    const roundedDir = await writeModelDir(
      nodePath.join(tmp, `${name}-rounded`),
      name,
      Object.fromEntries(tensors.map((t) => [t.name, { dtype: 'F32', shape: t.shape, data: roundToBf16(t.data) }])),
    );

    const ref = await readAll(nodePath.join(peerModelDir(name), 'reference.safetensors'));
    const bf16 = await logitsOf(shardedDir, ref);
    const rounded = await logitsOf(roundedDir, ref);
    expect(maxAbsDiff(bf16, rounded)).toBe(0);
    const vsF32 = maxAbsDiff(bf16, ref.get('logits') as tf.Tensor);
    expect(vsF32).toBeGreaterThan(0);
    expect(vsF32).toBeLessThan(0.05);
    disposeAll([bf16, rounded, ...ref.values()]);
  });
});

describe('key spellings', () => {
  it('loads a ViT saved by transformers 5 (PEFT merged model, new spelling) to its reference logits', async () => {
    const adapterDir = nodePath.join(FIXTURES, 'peer/adapters/vit-lora');
    const dir = nodePath.join(tmp, 'vit-merged');
    await mkdir(dir);
    await copyFile(nodePath.join(peerModelDir('vit'), 'config.json'), nodePath.join(dir, 'config.json'));
    await copyFile(nodePath.join(adapterDir, 'merged_model.safetensors'), nodePath.join(dir, 'model.safetensors'));
    const ref = await readAll(nodePath.join(adapterDir, 'reference.safetensors'));
    const logits = await logitsOf(dir, ref);
    expect(maxAbsDiff(logits, ref.get('merged_logits') as tf.Tensor)).toBeLessThan(1e-4);
    disposeAll([logits, ...ref.values()]);
  });

  it('loads a GPT-2 checkpoint of the bare base model (no transformer. prefix, with attention buffers)', async () => {
    const tensors = await fixtureTensors('gpt2', (k) => k.replace(/^transformer\./, ''));
    tensors['h.0.attn.bias'] = { dtype: 'F32', shape: [1, 1, 64, 64], data: new Float32Array(64 * 64) };
    const dir = await writeModelDir(nodePath.join(tmp, 'gpt2-bare'), 'gpt2', tensors);
    const ref = await readAll(nodePath.join(peerModelDir('gpt2'), 'reference.safetensors'));
    const logits = await logitsOf(dir, ref);
    expect(maxAbsDiff(logits, ref.get('logits') as tf.Tensor)).toBeLessThan(1e-4);
    disposeAll([logits, ...ref.values()]);
  });

  it('loads TF-era LayerNorm.gamma / LayerNorm.beta names', async () => {
    const tensors = await fixtureTensors('bert', (k) => k.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'));
    expect(Object.keys(tensors)).toContain('bert.embeddings.LayerNorm.gamma');
    const dir = await writeModelDir(nodePath.join(tmp, 'bert-gamma'), 'bert', tensors);
    const ref = await readAll(nodePath.join(peerModelDir('bert'), 'reference.safetensors'));
    const logits = await logitsOf(dir, ref);
    expect(maxAbsDiff(logits, ref.get('logits') as tf.Tensor)).toBeLessThan(1e-4);
    disposeAll([logits, ...ref.values()]);
  });
});

describe('loadModel errors', () => {
  it('names a missing tensor', async () => {
    const tensors = await fixtureTensors('llama', (k) => (k === 'model.layers.1.mlp.up_proj.weight' ? undefined : k));
    const dir = await writeModelDir(nodePath.join(tmp, 'llama-missing'), 'llama', tensors);
    const err = await rejection(loadModel(dir));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('model.layers.1.mlp.up_proj.weight');
    expect(err.violations).toEqual([{ field: 'checkpoint.model.layers.1.mlp.up_proj.weight', description: 'is missing' }]);
  });

  it('rejects an unknown model_type and a shape that disagrees with the config, leaking nothing', async () => {
    const before = tf.memory().numTensors;
    const tensors = await fixtureTensors('gpt2');
    const config = JSON.parse(await readFile(nodePath.join(peerModelDir('gpt2'), 'config.json'), 'utf8'));
    const t5 = await writeModelDir(nodePath.join(tmp, 't5'), 'gpt2', tensors, { ...config, model_type: 't5' });
    const t5err = await rejection(loadModel(t5));
    expect(t5err.code).toBe('INVALID_ARGUMENT');
    expect(t5err.message).toContain('model_type "t5" is not supported');
    const wide = await writeModelDir(nodePath.join(tmp, 'gpt2-wide'), 'gpt2', tensors, { ...config, n_inner: 64 });
    const shapeErr = await rejection(loadModel(wide));
    expect(shapeErr.code).toBe('INVALID_ARGUMENT');
    expect(shapeErr.message).toContain(`checkpoint in ${wide}`);
    expect(shapeErr.message).toContain('transformer.h.0.mlp.c_fc.weight: has shape [32, 128], expected [32, 64]');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reports a missing directory or config as NOT_FOUND and bad JSON as INVALID_ARGUMENT', async () => {
    expect((await rejection(loadModel(nodePath.join(tmp, 'nope')))).code).toBe('NOT_FOUND');
    const dir = nodePath.join(tmp, 'bad-json');
    await mkdir(dir);
    await writeFile(nodePath.join(dir, 'config.json'), '{"model_type": ');
    expect((await rejection(loadModel(dir))).code).toBe('INVALID_ARGUMENT');
  });
});
