import type { TextTaskSplits } from '@patchwork/datasets';
import { loadModel } from '@patchwork/models';
import { loadAdapter } from '@patchwork/peft';
import { withTempDir } from '@patchwork/tensor';
import { loadTokenizer } from '@patchwork/tokenizers';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { evaluateSet } from '../core/evaluate-set';
import { useWasmBackend } from '../testing/backend';
import { rejection } from '../testing/tensors';
import { tinyTextTask, writeTinyModelDir } from '../testing/tiny-task';
import { prepareTask } from './prepare-task';
import { parseRunConfig } from './run-config';
import { type TrainFromConfigOptions, trainFromConfig } from './train-from-config';

useWasmBackend();

const exists = (p: string) => access(p).then(() => true, () => false);

describe('trainFromConfig', () => {
  let root: string;
  let bert: string;
  let task: TextTaskSplits;
  const opts = (out: string, extra: Partial<TrainFromConfigOptions> = {}): TrainFromConfigOptions => ({ baseModelDir: bert, outDir: nodePath.join(root, out), loadTask: () => task, ...extra });
  const lora = { method: 'lora', task: 'tiny-cue', parameters: { r: 4, lora_alpha: 8, target_modules: ['query', 'value'] }, trainer: { steps: 24, lr: 3e-2, batch_size: 8, eval_every: 12, checkpoint_every: 8 } };

  beforeAll(async () => {
    root = await mkdtemp(nodePath.join(os.tmpdir(), 'finetune-runner-'));
    bert = await writeTinyModelDir(nodePath.join(root, 'bert'), 'bert', { hidden: 16, heads: 2, inner: 32, positions: 24 });
    task = tinyTextTask();
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('trains a LoRA adapter that PEFT tooling loads, with metrics, parameters, memory and throughput', async () => {
    const progress: string[] = [];
    const r = await trainFromConfig(lora, opts('lora', { onProgress: (p) => progress.push(`${p.phase}:${p.step}`) }));
    expect(r.adapterDir).toBe(nodePath.join(root, 'lora', 'adapter'));
    expect(JSON.parse(await readFile(nodePath.join(r.adapterDir, 'adapter_config.json'), 'utf8'))).toMatchObject({ peft_type: 'LORA', r: 4, modules_to_save: ['classifier'] });
    // q and v of 2 layers at r 4 (4·(16+16) each) plus the classifier trained in full.
    expect(r.trainableParameters).toBe(4 * 4 * 32 + 2 * 16 + 2);
    expect(progress).toHaveLength(24);
    expect(progress[23]).toBe('train:24');
    expect(r.peakMemoryBytes).toBeGreaterThan(r.baselineMemoryBytes);
    expect(r.examplesPerSec).toBeGreaterThan(0);
    expect(Object.keys(r.metrics)).toEqual(expect.arrayContaining(['eval_accuracy', 'eval_loss', 'test_accuracy', 'test_loss', 'train_loss']));
    const saved = JSON.parse(await readFile(nodePath.join(root, 'lora', 'metrics.json'), 'utf8'));
    expect(saved.metrics).toEqual(r.metrics);
    // The saved adapter reproduces the reported test accuracy.
    const model = await loadModel(bert);
    const adapter = await loadAdapter(r.adapterDir, model);
    const prepared = await prepareTask(parseRunConfig(lora), model, bert, await loadTokenizer(bert), task);
    const again = evaluateSet(prepared.test, (b) => adapter.forward(b.inputs).logits);
    expect(again.accuracy).toBe(r.metrics.test_accuracy);
    adapter.dispose();
    prepared.dispose();
    model.dispose();
  });

  it('full fine-tuning learns the task and writes a Hugging Face model', async () => {
    const r = await trainFromConfig({ method: 'full', task: 'tiny-cue', trainer: { steps: 40, lr: 1e-2, batch_size: 8 } }, opts('full'));
    expect(r.metrics.test_accuracy).toBeGreaterThan(0.8);
    expect(r.adapterDir.endsWith('model')).toBe(true);
    const model = await loadModel(r.adapterDir);
    expect(model.numLayers).toBe(2);
    model.dispose();
  });

  it('trains AdaLoRA, HUT and LST adapters in the PEFT layout', async () => {
    const runs = [
      { method: 'adalora', parameters: { init_r: 6, target_r: 3, target_modules: ['query', 'value'] }, type: 'ADALORA' },
      { method: 'hut', parameters: { r: 4, target_modules: ['query', 'value'] }, type: 'HUT' },
      { method: 'lst', parameters: { reduction_factor: 2, fisher_samples: 8 }, type: 'LST' },
    ];
    for (const { method, parameters, type } of runs) {
      const r = await trainFromConfig({ method, task: 'tiny-cue', parameters, trainer: { steps: 12, lr: 1e-2, batch_size: 8 } }, opts(method));
      const config = JSON.parse(await readFile(nodePath.join(r.adapterDir, 'adapter_config.json'), 'utf8'));
      expect(config.peft_type).toBe(type);
      if (method === 'adalora') expect(Object.keys(config.rank_pattern ?? {})).toHaveLength(4);
    }
  });

  it('fails fast on bad configs and writes nothing', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...lora, method: 'dora' }, /method/],
      [{ ...lora, parameters: { r: 0, target_modules: ['query'] } }, /\br\b/],
      [{ ...lora, parameters: { r: 4, target_modules: ['nonexistent_proj'] } }, /nonexistent_proj/],
      [{ ...lora, method: 'lst', parameters: { reduction_factor: 5 } }, /reduction_factor/],
      [{ ...lora, method: 'muscle', parameters: { old_base_model: bert, old_adapter: nodePath.join(root, 'missing'), new_adapter: nodePath.join(root, 'missing') } }, /adapter/],
      [{ ...lora, trainer: { steps: -3 } }, /trainer.steps/],
    ];
    for (const [config, pattern] of cases) {
      const out = nodePath.join(root, 'bad');
      const err = await rejection(trainFromConfig(config, { ...opts('bad'), outDir: out }));
      expect(['INVALID_ARGUMENT', 'NOT_FOUND']).toContain(err.code);
      expect(err.message).toMatch(pattern);
      expect(await exists(out)).toBe(false);
    }
  });

  it('refuses an adapter built for another base (MUSCLE) before writing anything', async () => {
    const wide = await writeTinyModelDir(nodePath.join(root, 'wide'), 'bert', { hidden: 32, heads: 2, inner: 32, positions: 24 }, 3);
    const old = await trainFromConfig({ ...lora, trainer: { steps: 2, batch_size: 8 } }, opts('old'));
    const err = await rejection(trainFromConfig({ ...lora, method: 'muscle', parameters: { old_base_model: bert, old_adapter: old.adapterDir, new_adapter: old.adapterDir } }, { ...opts('muscle-bad'), baseModelDir: wide }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(await exists(nodePath.join(root, 'muscle-bad'))).toBe(false);
  });

  it('resumes a killed run from its checkpoint and ends with the same metrics', async () => {
    await withTempDir(async (dir) => {
      for (const config of [lora, { ...lora, method: 'adalora', parameters: { init_r: 6, target_r: 3, target_modules: ['query', 'value'], tinit: 4, tfinal: 8, deltaT: 2 } }]) {
        const straight = await trainFromConfig(config, { ...opts(''), outDir: nodePath.join(dir, `${config.method}-straight`) });
        const outDir = nodePath.join(dir, `${config.method}-killed`);
        const controller = new AbortController();
        const killed = await rejection(trainFromConfig(config, { ...opts(''), outDir, signal: controller.signal, onProgress: (p) => p.step === 13 && controller.abort() }));
        expect(killed.code).toBe('CANCELLED');
        expect(await exists(nodePath.join(outDir, 'adapter'))).toBe(false);
        const resumed = await trainFromConfig(config, { ...opts(''), outDir, resumeFrom: nodePath.join(outDir, 'checkpoints') });
        expect(resumed.metrics).toEqual(straight.metrics);
      }
    });
  });
});
