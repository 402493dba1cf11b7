import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { saveTinyVit } from '@patchwork/evaluate/src/testing/tiny-models';
import { readPlatformConfig, type RunningPlatform, serve } from '@patchwork/platform';
import { trainServiceModule } from '@patchwork/service-train';
import { main } from './main';

let root: string;
let vit: string;
let stderr: string[];

const recipe = (base: string, extra = '') => `method: lora
base_model: ${base}
task: digits
parameters: { r: 2, lora_alpha: 4, target_modules: [query, value] }
data: { max_train_examples: 128, max_eval_examples: 32, max_test_examples: 64 }
trainer: { steps: 6, batch_size: 16, lr: 0.01, checkpoint_every: 3, seed: 5 }
${extra}`;

async function writeRecipe(name: string, text: string): Promise<string> {
  const file = path.join(root, name);
  await fs.writeFile(file, text);
  return file;
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'cli-train-'));
  vit = await saveTinyVit(path.join(root, 'vit'), 4);
  jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr.push(String(chunk));
    return true;
  });
});
beforeEach(() => {
  stderr = [];
});
afterAll(async () => {
  jest.restoreAllMocks();
  await fs.rm(root, { recursive: true, force: true });
});

describe('patchwork train', () => {
  it('trains in-process, reports metrics and memory, and refuses to overwrite checkpoints without --resume', async () => {
    const config = await writeRecipe('lora.yaml', recipe(vit));
    const out = path.join(root, 'local');
    expect(await main(['node', 'patchwork', 'train', '--config', config, '--out', out, '--backend', 'wasm'])).toBe(0);
    const adapterConfig = JSON.parse(await fs.readFile(path.join(out, 'adapter', 'adapter_config.json'), 'utf8'));
    expect(adapterConfig).toMatchObject({ peft_type: 'LORA', r: 2 });
    expect(stderr.join('')).toMatch(/test_accuracy [\d.]+, \d+ trainable parameters, peak training memory [\d.]+ MiB/);
    const metrics = JSON.parse(await fs.readFile(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.phases[0].lossHistory).toHaveLength(6);
    // A second run into the same directory would destroy the first's checkpoints.
    await fs.rm(path.join(out, 'adapter'), { recursive: true });
    expect(await main(['node', 'patchwork', 'train', '--config', config, '--out', out])).toBe(2);
    expect(stderr.join('')).toMatch(/--resume/);
    // --resume finds the finished run's checkpoint and rewrites the same adapter.
    expect(await main(['node', 'patchwork', 'train', '--config', config, '--out', out, '--resume', '--backend', 'wasm'])).toBe(0);
    expect(JSON.parse(await fs.readFile(path.join(out, 'metrics.json'), 'utf8')).metrics).toEqual(metrics.metrics);
  }, 120_000);

  it('exits 2 on a bad recipe without writing anything', async () => {
    const bad = await writeRecipe('bad.yaml', recipe(vit).replace('r: 2', 'r: -1'));
    const out = path.join(root, 'bad-out');
    expect(await main(['node', 'patchwork', 'train', '--config', bad, '--out', out])).toBe(2);
    expect(stderr.join('')).toMatch(/parameters.*\br\b/);
    await expect(fs.access(out)).rejects.toThrow();
    expect(await main(['node', 'patchwork', 'train', '--config', path.join(root, 'missing.yaml'), '--out', out])).toBe(2);
  });

  it('trains through the train service with --remote, uploading the local base model', async () => {
    const config = readPlatformConfig({}, { dataDir: path.join(root, 'server'), grpcPort: '0', services: 'train', logLevel: 'silent' });
    const platform: RunningPlatform = await serve({ config, modules: [trainServiceModule] });
    try {
      const file = await writeRecipe('remote.yaml', recipe(vit));
      const out = path.join(root, 'remote');
      expect(await main(['node', 'patchwork', 'train', '--config', file, '--out', out, '--remote', `127.0.0.1:${platform.port}`])).toBe(0);
      const local = await fs.readFile(path.join(root, 'local', 'adapter', 'adapter_model.safetensors'));
      // The same library ran on the server with the same recipe and seed: the same weights.
      expect((await fs.readFile(path.join(out, 'adapter', 'adapter_model.safetensors'))).equals(local)).toBe(true);
      expect(stderr.join('')).toMatch(/trained remotely \(job job-/);
    } finally {
      await platform.close();
    }
  }, 120_000);
});
