import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Checkpoint, encodeFloat32, writeSafetensors } from '@patchwork/tensor';
import { main } from './main';

let root: string;
let stderr: string;
const spy = jest.spyOn(process.stderr, 'write');

async function model(name: string, w: number[]): Promise<void> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  await writeSafetensors(path.join(dir, 'model.safetensors'), { w: { dtype: 'F32', shape: [w.length], data: encodeFloat32(Float32Array.from(w), 'F32') } }, { format: 'pt' });
  await fs.writeFile(path.join(dir, 'config.json'), '{"model_type":"toy"}');
}

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'cli-'));
  stderr = '';
  spy.mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
});
afterEach(async () => {
  spy.mockReset();
  await fs.rm(root, { recursive: true, force: true });
});
afterAll(() => spy.mockRestore());

describe('patchwork merge (in-process)', () => {
  it('merges a YAML recipe into a Hugging Face directory', async () => {
    await model('base', [1, 1]);
    await model('a', [3, 1]);
    await fs.writeFile(path.join(root, 'merge.yaml'), 'merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: a\n    parameters: {weight: 0.5}\n');
    const code = await main(['node', 'patchwork', 'merge', '--config', path.join(root, 'merge.yaml'), '--out', path.join(root, 'out')]);
    expect(code).toBe(0);
    const out = await Checkpoint.open(path.join(root, 'out'));
    expect(Array.from(await out.readFloat32('w'))).toEqual([2, 1]);
    await out.close();
    expect(await fs.readFile(path.join(root, 'out', 'config.json'), 'utf8')).toContain('toy');
  });

  it('exits 2 with a message naming the problem for a bad recipe, and writes nothing', async () => {
    await model('a', [1]);
    await fs.writeFile(path.join(root, 'bad.yaml'), 'merge_method: nope\nmodels:\n  - model: a\n');
    const code = await main(['node', 'patchwork', 'merge', '--config', path.join(root, 'bad.yaml'), '--out', path.join(root, 'out')]);
    expect(code).toBe(2);
    expect(stderr).toContain('INVALID_ARGUMENT: merge_method: unknown method "nope"');
    await expect(fs.access(path.join(root, 'out'))).rejects.toThrow();
  });

  it('exits 2 on usage errors and a missing config file', async () => {
    expect(await main(['node', 'patchwork', 'merge', '--out', 'x'])).toBe(2);
    expect(await main(['node', 'patchwork', 'merge', '--config', path.join(root, 'missing.yaml'), '--out', 'x'])).toBe(2);
    expect(await main(['node', 'patchwork', '--help'])).toBe(0);
  });
});

describe('patchwork adapter combine', () => {
  const fixtures = path.resolve(__dirname, '../../../../shared/fixtures/peer/adapters');

  it('concatenates two LoRA adapters into one of the summed rank', async () => {
    const out = path.join(root, 'combined');
    const code = await main(['node', 'patchwork', 'adapter', 'combine', '--adapters', path.join(fixtures, 'gpt2-lora'), path.join(fixtures, 'gpt2-lora'), '--weights', '1', '0.5', '--method', 'cat', '--out', out]);
    expect(code).toBe(0);
    const config = JSON.parse(await fs.readFile(path.join(out, 'adapter_config.json'), 'utf8'));
    expect(config.r).toBe(8);
    const tensors = await Checkpoint.open(path.join(out, 'adapter_model.safetensors'));
    expect(tensors.info('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight').shape[0]).toBe(8);
    await tensors.close();
  });

  it('exits 2 when weights and adapters disagree, or a method needs a density', async () => {
    const a = path.join(fixtures, 'gpt2-lora');
    expect(await main(['node', 'patchwork', 'adapter', 'combine', '--adapters', a, '--weights', '1', '2', '--method', 'cat', '--out', path.join(root, 'x')])).toBe(2);
    expect(await main(['node', 'patchwork', 'adapter', 'combine', '--adapters', a, a, '--weights', '1', '1', '--method', 'ties', '--out', path.join(root, 'y')])).toBe(2);
    expect(stderr).toContain('density');
  });
});
