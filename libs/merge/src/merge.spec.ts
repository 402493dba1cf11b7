import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { Checkpoint, DType, encodeFloat32, writeSafetensors } from '@patchwork/tensor';
import { executeMerge, parseMergeYaml, planMerge } from './index';

let root: string;
const resolve = async (ref: string) => ref;

async function model(name: string, values: Record<string, number[]>, dtype: DType = 'F32', extra: Record<string, unknown> = {}): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  const tensors: Record<string, { dtype: DType; shape: number[]; data: Uint8Array }> = {};
  for (const [key, v] of Object.entries(values)) tensors[key] = { dtype, shape: [v.length], data: encodeFloat32(Float32Array.from(v), dtype) };
  Object.assign(tensors, extra);
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'toy', name }));
  return dir;
}

async function read(dir: string, name: string): Promise<number[]> {
  const ckpt = await Checkpoint.open(dir);
  try {
    return Array.from(await ckpt.readFloat32(name));
  } finally {
    await ckpt.close();
  }
}

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'merge-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('merge end to end', () => {
  it('task_arithmetic over F32, F16 and BF16 inputs keeps the base dtype and copies integer buffers', async () => {
    const ids = { dtype: 'I64' as DType, shape: [3], data: new Uint8Array(new BigInt64Array([0n, 1n, 2n]).buffer) };
    const base = await model('base', { w: [1, 1, 1, 1] }, 'BF16', { position_ids: ids });
    const a = await model('a', { w: [2, 1, 1, 3] }, 'F32', { position_ids: ids });
    const b = await model('b', { w: [1, 3, 1, 1] }, 'F16', { position_ids: ids });
    const config = parseMergeYaml(
      `merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: a\n    parameters: {weight: 1}\n  - model: b\n    parameters: {weight: 0.5}\nparameters: {lambda: 2}\n`,
      root,
    );
    expect(config.baseModel).toBe(base);
    const plan = await planMerge(config, resolve);
    const out = path.join(root, 'out');
    const progress: number[] = [];
    await executeMerge(plan, { outDir: out, onProgress: (p) => void progress.push(p.done) });
    await plan.close();
    expect(await read(out, 'w')).toEqual([3, 3, 1, 5]);
    const merged = await Checkpoint.open(out);
    expect(merged.info('w').dtype).toBe('BF16');
    expect(Array.from(new BigInt64Array((await merged.readRaw('position_ids')).slice().buffer))).toEqual([0n, 1n, 2n]);
    await merged.close();
    expect(progress).toEqual([1, 2]);
    expect(JSON.parse(await fs.readFile(path.join(out, 'config.json'), 'utf8')).name).toBe('base');
    void a;
    void b;
  });

  it('linear with out_dtype writes the requested dtype and the same bytes on every run', async () => {
    await model('a', { x: [0, 2], y: [4] });
    await model('b', { x: [2, 4], y: [8] });
    const config = parseMergeYaml(`merge_method: linear\nmodels:\n  - {model: a, parameters: {weight: 3}}\n  - {model: b, parameters: {weight: 1}}\nout_dtype: float16\n`, root);
    const outputs: Buffer[] = [];
    for (const out of ['o1', 'o2']) {
      const plan = await planMerge(config, resolve);
      await executeMerge(plan, { outDir: path.join(root, out) });
      await plan.close();
      outputs.push(await fs.readFile(path.join(root, out, 'model.safetensors')));
    }
    expect(outputs[0].equals(outputs[1])).toBe(true);
    expect(await read(path.join(root, 'o1'), 'x')).toEqual([0.5, 2.5]);
    expect(await read(path.join(root, 'o1'), 'y')).toEqual([5]);
  });

  it('reports every shape and name mismatch together before reading tensors', async () => {
    await model('base', { x: [1, 2], y: [1] });
    await model('a', { x: [1, 2, 3], z: [1] });
    const config = parseMergeYaml(`merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - {model: a, parameters: {weight: 1}}\n`, root);
    const err = await planMerge(config, resolve).then(() => { throw new Error("expected a failure"); }, (e: PatchworkError) => e);
    expect(err).toBeInstanceOf(PatchworkError);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('shape [3] differs');
    expect(err.message).toContain('missing tensor y');
    expect(err.message).not.toContain('z');
  });

  it('merges the reference\'s tensors and warns about extras other inputs carry', async () => {
    await model('base', { x: [1, 2] });
    await model('a', { x: [3, 4], lm_head: [9] });
    const config = parseMergeYaml(`merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - {model: a, parameters: {weight: 1}}\n`, root);
    const plan = await planMerge(config, resolve);
    expect(plan.warnings).toEqual(['models[0]: 1 tensor(s) that base_model lacks are not merged: lm_head']);
    expect(plan.tensors.map((t) => t.spec.name)).toEqual(['x']);
    await plan.close();
  });

  it('refuses bad parameters, naming each', async () => {
    await model('a', { x: [1] });
    const bad = parseMergeYaml(`merge_method: linear\nmodels:\n  - {model: a, parameters: {wieght: 1}}\nparameters: {lambda: 2}\n`, root);
    await expect(planMerge(bad, resolve)).rejects.toThrow(/models\[0\]\.parameters\.wieght: not a parameter.*models\[0\]\.parameters\.weight: required.*parameters\.lambda: not a parameter/);
    const zero = parseMergeYaml(`merge_method: linear\nmodels:\n  - {model: a, parameters: {weight: 1}}\n  - {model: a, parameters: {weight: -1}}\n`, root);
    await expect(planMerge(zero, resolve)).rejects.toThrow(/sum to zero/);
    const noBase = parseMergeYaml(`merge_method: task_arithmetic\nmodels:\n  - {model: a, parameters: {weight: 1}}\n`, root);
    await expect(planMerge(noBase, resolve)).rejects.toThrow(/base_model: required/);
  });

  it('rejects a truncated checkpoint with INVALID_ARGUMENT and leaves no output', async () => {
    const a = await model('a', { x: [1, 2, 3, 4] });
    const file = path.join(a, 'model.safetensors');
    const bytes = await fs.readFile(file);
    await fs.writeFile(file, bytes.subarray(0, bytes.length - 3));
    const config = parseMergeYaml(`merge_method: linear\nmodels:\n  - {model: a, parameters: {weight: 1}}\n`, root);
    const err = await planMerge(config, resolve).then(() => { throw new Error("expected a failure"); }, (e: PatchworkError) => e);
    expect(err.code).toBe('INVALID_ARGUMENT');
    await expect(fs.access(path.join(root, 'out'))).rejects.toThrow();
  });

  it('stops at the next tensor when cancelled and leaves no output file', async () => {
    await model('a', { x: [1], y: [2], z: [3] });
    const config = parseMergeYaml(`merge_method: linear\nmodels:\n  - {model: a, parameters: {weight: 1}}\n`, root);
    const plan = await planMerge(config, resolve);
    const controller = new AbortController();
    const out = path.join(root, 'out');
    await expect(
      executeMerge(plan, { outDir: out, signal: controller.signal, onProgress: (p) => (p.done === 1 ? controller.abort() : undefined) }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
    await plan.close();
    expect((await fs.readdir(out)).filter((f) => f.endsWith('.safetensors'))).toEqual([]);
  });
});

describe('parseMergeYaml', () => {
  it('names unknown keys and bad values with their paths', () => {
    expect(() => parseMergeYaml(`merge_method: linear\nmodles: []\nmodels:\n  - {model: a, paramters: {}}\nout_dtype: int8\n`, '/')).toThrow(
      /modles: unknown key.*models\[0\]\.paramters: unknown key.*out_dtype: must be one of/,
    );
    expect(() => parseMergeYaml('[1, 2', '/')).toThrow(/not valid YAML/);
    expect(() => parseMergeYaml('merge_method: linear\nmodels:\n  - {model: a, parameters: {weight: .nan}}\n', '/')).toThrow(/finite/);
  });
});
