import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SeededRandom, writeSafetensors } from '@patchwork/tensor';
import { PEER_FIXTURES, maxAbsDiff, readAll } from '../testing/fixtures';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from './adapter-dir';
import { LoraCombination, combineLoraAdapters } from './combine';

const WEIGHTED = path.join(PEER_FIXTURES, 'adapters/gpt2-weighted');

type Tensors = Map<string, { shape: number[]; values: Float32Array }>;

function matmul(b: { shape: number[]; values: Float32Array }, a: { shape: number[]; values: Float32Array }): Float64Array {
  const [m, r] = b.shape;
  const n = a.shape[1];
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let l = 0; l < r; l++) for (let c = 0; c < n; c++) out[i * n + c] += b.values[i * r + l] * a.values[l * n + c];
  return out;
}

function stems(tensors: Tensors): string[] {
  return [...tensors.keys()].filter((k) => k.endsWith('.lora_A.weight')).map((k) => k.slice(0, -'.lora_A.weight'.length));
}

/** B·A of every module times the adapter's scaling (alpha / r). */
async function products(dir: string): Promise<Map<string, Float64Array>> {
  const tensors = await readAll(path.join(dir, ADAPTER_WEIGHTS));
  const config = JSON.parse(await fs.readFile(path.join(dir, ADAPTER_CONFIG), 'utf8'));
  const scaling = config.lora_alpha / config.r;
  return new Map(stems(tensors).map((s) => [s, matmul(tensors.get(`${s}.lora_B.weight`)!, tensors.get(`${s}.lora_A.weight`)!).map((x) => x * scaling)]));
}

let root: string;
let cases: { lora: Record<string, unknown>; cases: Record<string, { weights: number[]; density?: number }> };
const inputs: string[] = [];
const errors: Record<string, number> = {};

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'lora-combine-'));
  cases = JSON.parse(await fs.readFile(path.join(WEIGHTED, 'cases.json'), 'utf8'));
  for (const name of ['a', 'b', 'c']) {
    const dir = path.join(root, `input_${name}`);
    await fs.mkdir(dir);
    await fs.copyFile(path.join(WEIGHTED, `input_${name}.safetensors`), path.join(dir, ADAPTER_WEIGHTS));
    await fs.writeFile(path.join(dir, ADAPTER_CONFIG), JSON.stringify({ peft_type: 'LORA', task_type: 'CAUSAL_LM', ...cases.lora }));
    inputs.push(dir);
  }
});
afterAll(async () => {
  process.stdout.write(`adapter combine vs PEFT add_weighted_adapter, max abs errors: ${JSON.stringify(errors)}\n`);
  await fs.rm(root, { recursive: true, force: true });
});

async function combine(method: LoraCombination, out: string) {
  const spec = cases.cases[method];
  return combineLoraAdapters(
    inputs.map((dir, i) => ({ dir, weight: spec.weights[i] })),
    { method, density: spec.density, outDir: path.join(root, out) },
  );
}

describe('combineLoraAdapters vs fixtures/peer/adapters/gpt2-weighted', () => {
  it('cat is exact, factor by factor', async () => {
    const result = await combine('cat', 'cat');
    expect(result.rank).toBe(12);
    const ours = await readAll(path.join(root, 'cat', ADAPTER_WEIGHTS));
    const theirs = await readAll(path.join(WEIGHTED, 'merged_cat.safetensors'));
    let worst = 0;
    for (const [name, t] of theirs) {
      expect(ours.get(name)?.shape).toEqual(t.shape);
      worst = Math.max(worst, maxAbsDiff(ours.get(name)!.values, t.values));
    }
    errors['cat'] = worst;
    expect(worst).toBe(0);
    const config = JSON.parse(await fs.readFile(path.join(root, 'cat', ADAPTER_CONFIG), 'utf8'));
    expect(config).toMatchObject({ r: 12, lora_alpha: 12, use_rslora: false, target_modules: ['c_attn', 'c_fc'], fan_in_fan_out: true });
  });

  it.each(['linear', 'ties', 'magnitude_prune'] as const)('%s acts on the factors like PEFT', async (method) => {
    await combine(method, method);
    const ours = await readAll(path.join(root, method, ADAPTER_WEIGHTS));
    const theirs = await readAll(path.join(WEIGHTED, `merged_${method}.safetensors`));
    let worst = 0;
    for (const [name, t] of theirs) worst = Math.max(worst, maxAbsDiff(ours.get(name)!.values, t.values));
    errors[method] = worst;
    expect(worst).toBeLessThanOrEqual(1e-6);
  });

  it.each(['svd', 'ties_svd', 'magnitude_prune_svd'] as const)('%s gives the same B·A products', async (method) => {
    await combine(method, method);
    const ours = await products(path.join(root, method));
    const theirs = await readAll(path.join(WEIGHTED, `merged_${method}.safetensors`));
    let worst = 0;
    // The merged adapter has r = lora_alpha, so its scaling is 1.
    for (const s of stems(theirs)) worst = Math.max(worst, maxAbsDiff(ours.get(s)!, matmul(theirs.get(`${s}.lora_B.weight`)!, theirs.get(`${s}.lora_A.weight`)!)));
    errors[method] = worst;
    expect(worst).toBeLessThanOrEqual(1e-5);
  });
});

describe('combineLoraAdapters properties', () => {
  it('a single adapter with weight 1 reproduces its delta for linear, cat and svd', async () => {
    const original = await products(inputs[0]);
    for (const method of ['linear', 'cat', 'svd'] as const) {
      const result = await combineLoraAdapters([{ dir: inputs[0], weight: 1 }], { method, outDir: path.join(root, `single-${method}`) });
      expect(result.method).toBe('linear');
      const out = await products(path.join(root, `single-${method}`));
      for (const [s, p] of original) expect(maxAbsDiff(out.get(s)!, p)).toBeLessThanOrEqual(1e-6);
    }
  });

  it('svd at full rank equals cat (and dense svd agrees with the factored path)', async () => {
    const spec = cases.cases['svd'];
    const adapters = inputs.map((dir, i) => ({ dir, weight: spec.weights[i] }));
    await combineLoraAdapters(adapters, { method: 'svd', svdRank: 12, outDir: path.join(root, 'svd12') });
    await combineLoraAdapters(adapters, { method: 'dare_linear_svd', density: 1, svdRank: 4, outDir: path.join(root, 'dense4') });
    const cat = await products(path.join(root, 'cat'));
    const full = await products(path.join(root, 'svd12'));
    const dense = await products(path.join(root, 'dense4'));
    const factored = await products(path.join(root, 'svd'));
    for (const [s, p] of cat) {
      expect(maxAbsDiff(full.get(s)!, p)).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(dense.get(s)!, factored.get(s)!)).toBeLessThanOrEqual(1e-5);
    }
  });

  it('refuses bad requests with the reason', async () => {
    await expect(combineLoraAdapters([], { method: 'cat', outDir: root })).rejects.toThrow(/adapters: at least one/);
    await expect(combineLoraAdapters([{ dir: inputs[0], weight: 1 }, { dir: inputs[1], weight: 1 }], { method: 'ties', outDir: root })).rejects.toThrow(/density: required/);
    await expect(combineLoraAdapters([{ dir: inputs[0], weight: Number.NaN }], { method: 'svd' as LoraCombination, outDir: root })).rejects.toThrow(/weight/);
    const dora = path.join(root, 'dora');
    await fs.mkdir(dora);
    await fs.copyFile(path.join(inputs[0], ADAPTER_WEIGHTS), path.join(dora, ADAPTER_WEIGHTS));
    await fs.writeFile(path.join(dora, ADAPTER_CONFIG), JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 8, use_dora: true }));
    await expect(combineLoraAdapters([{ dir: dora, weight: 1 }, { dir: inputs[1], weight: 1 }], { method: 'cat', outDir: root })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    const odd = path.join(root, 'odd');
    await fs.mkdir(odd);
    const rng = new SeededRandom(1);
    await writeSafetensors(path.join(odd, ADAPTER_WEIGHTS), {
      'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight': { dtype: 'F32', shape: [2, 32], data: rng.fillGaussian(new Float32Array(64)) },
      'base_model.model.transformer.h.0.attn.c_attn.lora_B.weight': { dtype: 'F32', shape: [96, 2], data: rng.fillGaussian(new Float32Array(192)) },
    });
    await fs.writeFile(path.join(odd, ADAPTER_CONFIG), JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['c_attn'] }));
    await expect(combineLoraAdapters([{ dir: odd, weight: 1 }, { dir: inputs[1], weight: 1 }], { method: 'linear', outDir: root })).rejects.toThrow(/equal ranks/);
    // cat handles unequal ranks and modules only some adapters have.
    const mixed = await combineLoraAdapters([{ dir: odd, weight: 1 }, { dir: inputs[1], weight: 1 }], { method: 'cat', outDir: path.join(root, 'mixed') });
    expect(mixed.rank).toBe(6);
    expect(mixed.modules).toBe(4);
  });
});
