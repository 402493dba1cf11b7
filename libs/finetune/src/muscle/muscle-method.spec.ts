import type { TextTaskSplits } from '@patchwork/datasets';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { trainFromConfig } from '../runner/train-from-config';
import { useWasmBackend } from '../testing/backend';
import { tinyTextTask, writeTinyModelDir } from '../testing/tiny-task';

useWasmBackend();

describe('MUSCLE through trainFromConfig', () => {
  let root: string;
  let task: TextTaskSplits;
  beforeAll(async () => {
    root = await mkdtemp(nodePath.join(os.tmpdir(), 'finetune-muscle-'));
    task = tinyTextTask({ train: 96, validation: 24, test: 48 });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('trains a compatibility adapter from the new task adapter and measures flips against the old model', async () => {
    const dims = { hidden: 16, heads: 2, inner: 32, positions: 24, labels: 3 };
    const v1 = await writeTinyModelDir(nodePath.join(root, 'v1'), 'bert', dims, 1);
    const v2 = await writeTinyModelDir(nodePath.join(root, 'v2'), 'bert', dims, 2);
    const recipe = { task: 'tiny-cue', parameters: { r: 4, target_modules: ['query', 'value'] }, trainer: { steps: 30, lr: 3e-2, batch_size: 8 } };
    const opts = (base: string, out: string) => ({ baseModelDir: base, outDir: nodePath.join(root, out), loadTask: () => task });
    // The bases have 3-way heads and the task 2 labels: the runner gives both a fresh 2-way classifier.
    const old = await trainFromConfig({ ...recipe, method: 'lora' }, opts(v1, 'old'));
    const fresh = await trainFromConfig({ ...recipe, method: 'lora' }, opts(v2, 'new'));
    expect(old.metrics.num_labels).toBe(2);
    const r = await trainFromConfig(
      { ...recipe, method: 'muscle', parameters: { old_base_model: v1, old_adapter: old.adapterDir, new_adapter: fresh.adapterDir, temperature: 2 }, trainer: { steps: 20, lr: 1e-2, batch_size: 8 } },
      opts(v2, 'compat'),
    );
    const m = r.metrics;
    // Before compatibility training the models are exactly the two task adapters.
    expect(m.muscle_acc_old).toBe(old.metrics.test_accuracy);
    expect(m.muscle_acc_new).toBe(fresh.metrics.test_accuracy);
    expect(m.muscle_acc_compat).toBe(m.test_accuracy);
    for (const k of ['muscle_nfr_new', 'muscle_nfr_compat', 'muscle_pfr_new', 'muscle_pfr_compat']) expect(m[k]).toBeGreaterThanOrEqual(0);
    expect(m.muscle_nfr_delta).toBeCloseTo(m.muscle_nfr_compat - m.muscle_nfr_new, 12);
    expect(m.muscle_acc_new - m.muscle_acc_old).toBeCloseTo(m.muscle_pfr_new - m.muscle_nfr_new, 12);
    expect(r.trainableParameters).toBe(fresh.trainableParameters);
  });
});
