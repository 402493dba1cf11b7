import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { Checkpoint, DType, SeededRandom, encodeFloat32, writeSafetensors, writeShardedCheckpoint } from '@patchwork/tensor';
import { executeMerge } from '../execute';
import { mergeInMemory } from '../merge-in-memory';
import { parseMergeYaml } from '../config/parse-yaml';
import { getMergeMethod } from '../methods/registry';
import { planMerge } from '../plan';
import { defaultBytesPerElement } from '../streaming/by-choice';

let root: string;
const resolve = async (ref: string) => ref;

/** Tensor shapes: a matrix, a 3-D tensor, a vector, and an integer buffer copied as is. */
const SHAPES: Record<string, number[]> = { 'layers.0.w': [40, 30], 'layers.1.conv': [6, 5, 4], 'layers.1.bias': [37] };
const IDS = new Uint8Array(new BigInt64Array([3n, 1n, 4n, 1n, 5n]).buffer);

async function writeModel(name: string, seed: number, dtype: DType): Promise<string> {
  const rng = new SeededRandom(seed);
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  const tensors: Record<string, { dtype: DType; shape: number[]; data: Uint8Array }> = {};
  for (const [key, shape] of Object.entries(SHAPES)) {
    const values = rng.fillGaussian(new Float32Array(shape.reduce((a, b) => a * b, 1)));
    // Repeated magnitudes make the top-k windows cut through ties.
    for (let j = 0; j < values.length; j += 7) values[j] = 0.5;
    tensors[key] = { dtype, shape, data: encodeFloat32(values, dtype) };
  }
  tensors['position_ids'] = { dtype: 'I64', shape: [5], data: IDS };
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'toy' }));
  return dir;
}

async function run(yaml: string, out: string, options: { maxMemoryBytes?: number; maxShardBytes?: number } = {}) {
  const plan = await planMerge(parseMergeYaml(yaml, root), resolve);
  try {
    const summary = await executeMerge(plan, { outDir: path.join(root, out), ...options });
    const bytes = new Map<string, Buffer>();
    for (const file of summary.files) if (file.includes('safetensors')) bytes.set(path.basename(file), await fs.readFile(file));
    return { summary, bytes };
  } finally {
    await plan.close();
  }
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'merge-budget-'));
  await writeModel('base', 1, 'F32');
  await writeModel('a', 2, 'BF16');
  await writeModel('b', 3, 'F32');
  await writeModel('c', 4, 'F16');
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const three = `models:\n  - {model: a, parameters: {weight: 0.5, density: 0.3}}\n  - {model: b, parameters: {weight: 0.8, density: 0.6}}\n  - {model: c, parameters: {weight: 1.1, density: 0.5}}\n`;
const RECIPES: Record<string, string> = {
  ties: `merge_method: ties\nbase_model: base\n${three}`,
  ties_peft: `merge_method: ties\nbase_model: base\n${three}parameters: {semantics: peft, majority_sign_method: frequency}\n`,
  ties_paper: `merge_method: ties\nbase_model: base\n${three.replaceAll(/weight: [0-9.]+/g, 'weight: 1')}parameters: {semantics: paper}\n`,
  dare_ties: `merge_method: dare_ties\nbase_model: base\n${three}parameters: {seed: 7}\n`,
  della: `merge_method: della\nbase_model: base\n${three}`,
  pcb: `merge_method: pcb\nbase_model: base\nmodels:\n  - model: a\n  - model: b\n  - model: c\nparameters: {ratio: 0.2, clip: 0.01}\n`,
  pcb_tensor: `merge_method: pcb\nbase_model: base\nmodels:\n  - model: a\n  - model: b\nparameters: {ratio: 0.3, scope: tensor}\n`,
  slerp: `merge_method: slerp\nbase_model: base\nmodels:\n  - model: a\nparameters: {t: 0.35}\n`,
  model_stock: `merge_method: model_stock\nbase_model: base\nmodels:\n  - model: a\n  - model: b\n`,
  linear: `merge_method: linear\nmodels:\n  - {model: a, parameters: {weight: 1}}\n  - {model: b, parameters: {weight: 2}}\nout_dtype: bfloat16\n`,
};

/** A budget of `elements` chunk elements for the recipe's method and input count. */
async function budgetFor(name: string, elements: number): Promise<number> {
  const plan = await planMerge(parseMergeYaml(RECIPES[name], root), resolve);
  await plan.close();
  const inputs = plan.models.length + (plan.base ? 1 : 0);
  const streaming = getMergeMethod(plan.method.name).streaming;
  return elements * (streaming?.bytesPerElement?.(inputs, plan.choices) ?? defaultBytesPerElement(inputs));
}

describe('executeMerge under a memory budget', () => {
  it.each(Object.keys(RECIPES))('%s: chunked output is byte-identical to the unbounded merge', async (name) => {
    const whole = await run(RECIPES[name], `${name}-whole`);
    // 32 elements: one row of the 40x30 matrix and of the 6x5x4 tensor per chunk, the 37-vector
    // in two. DELLA ranks within rows and a vector is one row, so it gets 40 and the vector whole.
    const budget = await budgetFor(name, name === 'della' ? 40 : 32);
    const chunked = await run(RECIPES[name], `${name}-chunked`, { maxMemoryBytes: budget, maxShardBytes: 1_000 });
    expect(whole.summary.chunkedTensors).toBe(0);
    expect(chunked.summary.chunkedTensors).toBe(name === 'della' ? 2 : 3);
    expect(chunked.summary.maxMemoryBytes).toBe(budget);
    expect(chunked.summary.peakTensorBytes).toBeLessThanOrEqual(budget);
    expect(chunked.summary.peakTensorBytes).toBeLessThan(whole.summary.peakTensorBytes);
    expect([...chunked.bytes.keys()].sort()).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
    // The same bytes as one file too.
    const rejoined = await run(RECIPES[name], `${name}-chunked-one-shard`, { maxMemoryBytes: budget });
    expect(rejoined.bytes.get('model.safetensors')?.equals(whole.bytes.get('model.safetensors') as Buffer)).toBe(true);
    expect(rejoined.summary.statisticsWalks).toBe(whole.summary.statisticsWalks);
  });

  it('reads a tensor again for each statistics walk only when it is chunked', async () => {
    const whole = await run(RECIPES['ties_peft'], 'reads-whole');
    const chunked = await run(RECIPES['ties_peft'], 'reads-chunked', { maxMemoryBytes: await budgetFor('ties_peft', 32) });
    const integerBytes = 5 * 8;
    const perPass = whole.summary.bytesRead - integerBytes;
    // A top-k trim needs two walks before the merge pass: three reads of every float tensor.
    expect(chunked.summary.bytesRead - integerBytes).toBe(3 * perPass);
  });

  it('writes the same shards as the tensor library\'s writer', async () => {
    const { summary, bytes } = await run(RECIPES['linear'], 'shards', { maxShardBytes: 1_000 });
    const inMemory = await mergeInMemory({
      mergeMethod: 'linear',
      models: await Promise.all(
        ['a', 'b'].map(async (m, i) => ({ model: await readModel(path.join(root, m)), parameters: { weight: i + 1 } })),
      ),
    });
    const reference = path.join(root, 'shards-reference');
    await writeShardedCheckpoint(
      reference,
      [...Object.entries(SHAPES).map(([name, shape]) => ({ name, dtype: 'BF16' as DType, shape })), { name: 'position_ids', dtype: 'I64' as DType, shape: [5] }],
      (name) => (name === 'position_ids' ? IDS : encodeFloat32(inMemory.get(name) as Float32Array, 'BF16')),
      { maxShardBytes: 1_000 },
    );
    expect(summary.files.filter((f) => f.includes('safetensors')).map((f) => path.basename(f)).sort()).toEqual((await fs.readdir(reference)).sort());
    expect(bytes.size).toBe(3);
    for (const [file, content] of bytes) expect(content.equals(await fs.readFile(path.join(reference, file)))).toBe(true);
  });

  it('refuses a budget below one row of a tensor, naming it, and leaves no output', async () => {
    const err = await run(RECIPES['ties'], 'too-small', { maxMemoryBytes: 500 }).catch((e: PatchworkError) => e);
    expect(err).toBeInstanceOf(PatchworkError);
    expect((err as PatchworkError).code).toBe('RESOURCE_EXHAUSTED');
    expect((err as PatchworkError).message).toMatch(/tensor layers\.0\.w \[40, 30\] cannot be merged within max memory/);
    expect((await fs.readdir(path.join(root, 'too-small'))).filter((f) => f.includes('safetensors'))).toEqual([]);
    await expect(run(RECIPES['ties'], 'bad-budget', { maxMemoryBytes: -1 })).rejects.toThrow(/maxMemoryBytes: must be a positive integer/);
  });
});

async function readModel(dir: string) {
  const ckpt = await Checkpoint.open(dir);
  try {
    const out = new Map<string, { shape: number[]; values: Float32Array }>();
    for (const name of Object.keys(SHAPES)) out.set(name, { shape: ckpt.info(name).shape, values: await ckpt.readFloat32(name) });
    return out;
  } finally {
    await ckpt.close();
  }
}
