import { tf } from '@patchwork/tensor';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { useWasmBackend } from '../testing/backend';
import { tinyTextTask, writeTinyModelDir } from '../testing/tiny-task';
import { trainFromConfig } from './train-from-config';

useWasmBackend();

it('frees every tensor it allocates, for every method', async () => {
  const root = await mkdtemp(nodePath.join(os.tmpdir(), 'leak-'));
  // A 3-way head on a 2-label task: the runner's fresh classifier must be freed too.
  const bert = await writeTinyModelDir(nodePath.join(root, 'bert'), 'bert', { hidden: 16, heads: 2, inner: 32, positions: 24, labels: 3 });
  const task = tinyTextTask();
  const cfgs: Record<string, unknown>[] = [
    { method: 'lora', parameters: { r: 2, target_modules: ['query'] } },
    { method: 'full' },
    { method: 'adalora', parameters: { init_r: 4, target_r: 2, target_modules: ['query'] } },
    { method: 'hut', parameters: { r: 2, target_modules: ['query'] } },
    { method: 'lst', parameters: { reduction_factor: 2, fisher_samples: 4 } },
    { method: 'list', prompt: { template: '{text} it was {mask}.', label_words: ['awful', 'great'] }, data: { labels_per_class: 6 }, parameters: { sessions: 1, teacher_steps: 4, self_training_steps: 4, finetune_steps: 2, max_unlabeled: 16, meta_warmup: 0.5 } },
  ];
  for (const c of cfgs) {
    const before = tf.memory().numTensors;
    await trainFromConfig({ task: 't', trainer: { steps: 6, batch_size: 4, checkpoint_every: 3 }, ...c }, { baseModelDir: bert, outDir: nodePath.join(root, String(c.method)), loadTask: () => task, profileMemory: true });
    expect({ method: c.method, leaked: tf.memory().numTensors - before }).toEqual({ method: c.method, leaked: 0 });
  }
  await rm(root, { recursive: true, force: true });
});
