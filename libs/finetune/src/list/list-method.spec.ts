import type { TextTaskSplits } from '@patchwork/datasets';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { trainFromConfig } from '../runner/train-from-config';
import { useWasmBackend } from '../testing/backend';
import { rejection } from '../testing/tensors';
import { tinyTextTask, writeTinyModelDir } from '../testing/tiny-task';

useWasmBackend();

describe('LiST through trainFromConfig', () => {
  let root: string;
  let bert: string;
  let task: TextTaskSplits;
  beforeAll(async () => {
    root = await mkdtemp(nodePath.join(os.tmpdir(), 'finetune-list-'));
    bert = await writeTinyModelDir(nodePath.join(root, 'bert'), 'bert', { hidden: 16, heads: 2, inner: 32, positions: 24 });
    task = tinyTextTask({ train: 120, validation: 24, test: 32 });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const config = {
    method: 'list',
    task: 'tiny-cue',
    prompt: { template: '{text} it was {mask}.', label_words: ['awful', 'great'] },
    data: { labels_per_class: 6 },
    parameters: { sessions: 1, teacher_steps: 8, self_training_steps: 10, finetune_steps: 4, unlabeled_batch_size: 8, meta_batch_size: 4, meta_warmup: 0.4, max_unlabeled: 48, lora: { r: 2 } },
    trainer: { steps: 8, lr: 1e-2, batch_size: 4, eval_every: 4, checkpoint_every: 2 },
  };

  it('trains a teacher, then a student on soft labels with meta weights, and saves the LoRA adapter with its prompt', async () => {
    const phases: string[] = [];
    const r = await trainFromConfig(config, { baseModelDir: bert, outDir: nodePath.join(root, 'run'), loadTask: () => task, onProgress: (p) => phases.includes(p.phase) || phases.push(p.phase) });
    expect(phases).toEqual(['teacher', 'session-1-selftrain', 'session-1-finetune']);
    expect(r.phases.map((p) => p.steps)).toEqual([8, 10, 4]);
    expect(r.metrics.teacher_test_accuracy).toBeGreaterThanOrEqual(0);
    // LoRA r 2 on the 4 output projections of a 16-wide, 32-inner BERT: only adapters are tuned.
    expect(r.trainableParameters).toBe(2 * (2 * (16 + 16) + 2 * (32 + 16)));
    const adapterConfig = JSON.parse(await readFile(nodePath.join(r.adapterDir, 'adapter_config.json'), 'utf8'));
    expect(adapterConfig).toMatchObject({ peft_type: 'LORA', r: 2, modules_to_save: null });
    expect(JSON.parse(await readFile(nodePath.join(r.adapterDir, 'prompt.json'), 'utf8'))).toEqual({ template: '{text} it was {mask}.', label_words: ['awful', 'great'], style: 'masked' });
  });

  it('resumes inside the self-training phase with its pending meta weights and ends where an uninterrupted run ends', async () => {
    const straight = await trainFromConfig(config, { baseModelDir: bert, outDir: nodePath.join(root, 'straight'), loadTask: () => task });
    const outDir = nodePath.join(root, 'killed');
    const controller = new AbortController();
    // Step 7 of 10 in self-training: past the 40% warmup, so the next step's weights were meta-computed.
    const killed = await rejection(
      trainFromConfig(config, { baseModelDir: bert, outDir, loadTask: () => task, signal: controller.signal, onProgress: (p) => p.phase === 'session-1-selftrain' && p.step === 7 && controller.abort() }),
    );
    expect(killed.code).toBe('CANCELLED');
    const resumed = await trainFromConfig(config, { baseModelDir: bert, outDir, loadTask: () => task, resumeFrom: nodePath.join(outDir, 'checkpoints') });
    expect(resumed.phases.map((p) => p.restored)).toEqual([true, false, false]);
    expect(resumed.metrics).toEqual(straight.metrics);
  });

  it('needs a prompt, a few-shot draw and a language model', async () => {
    const bad = await rejection(trainFromConfig({ ...config, data: {} }, { baseModelDir: bert, outDir: nodePath.join(root, 'bad'), loadTask: () => task }));
    expect(bad.code).toBe('INVALID_ARGUMENT');
    expect(bad.message).toMatch(/labels_per_class/);
    const unknown = await rejection(trainFromConfig({ ...config, parameters: { sessionz: 2 } }, { baseModelDir: bert, outDir: nodePath.join(root, 'bad'), loadTask: () => task }));
    expect(unknown.message).toMatch(/sessionz/);
    expect(await access(nodePath.join(root, 'bad')).then(() => true, () => false)).toBe(false);
  });
});
