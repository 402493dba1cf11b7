import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type ImageTaskSplits, loadTaskSequence } from '@patchwork/datasets';
import type { Model } from '@patchwork/models';
import { writeSafetensors } from '@patchwork/tensor';
import { MosLearner } from '../mos/mos-learner';
import type { MosOptionsInput } from '../mos/mos-options';

/** MOS settings that learn the tiny test tasks in seconds. */
export const FAST_MOS: MosOptionsInput = {
  adapter: { bottleneck: 4, scale: 0.5, dropout: 0 },
  training: { epochs: 10, batchSize: 16, lr: 5e-2, warmupSteps: 1 },
  alignment: { epochs: 20, samplesPerClass: 24, lr: 1e-2 },
  seed: 3,
};

/** Labelled images with the task each belongs to. */
export interface TaskImages {
  readonly inputs: Float32Array[];
  readonly labels: Int32Array;
  readonly taskIds: Int32Array;
}

function firstPerClass(split: { inputs: Float32Array[]; labels: number[] }, perClass: number): { inputs: Float32Array[]; labels: number[] } {
  const seen = new Map<number, number>();
  const inputs: Float32Array[] = [];
  const labels: number[] = [];
  split.inputs.forEach((image, i) => {
    const y = split.labels[i];
    const n = seen.get(y) ?? 0;
    if (n >= perClass) return;
    seen.set(y, n + 1);
    inputs.push(image);
    labels.push(y);
  });
  return { inputs, labels };
}

/**
 * A MOS learner on the first `tasks` Split-Digits tasks (real 8x8 digits, two per task), trained
 * on `perClass` images per digit, and the test images of those tasks. Fits `tinyVit`'s geometry.
 */
export async function learnSplitDigits(model: Model, options: { tasks?: number; perClass?: number; mos?: MosOptionsInput } = {}): Promise<{ learner: MosLearner; test: TaskImages }> {
  const sequence = loadTaskSequence('split-digits').slice(0, options.tasks ?? 3) as ImageTaskSplits[];
  const learner = MosLearner.create(model, options.mos ?? FAST_MOS);
  const test = { inputs: [] as Float32Array[], labels: [] as number[], taskIds: [] as number[] };
  try {
    for (const [t, task] of sequence.entries()) {
      const train = firstPerClass({ inputs: task.train.inputs, labels: [...task.train.labels] }, options.perClass ?? 40);
      await learner.learnTask({ inputs: train.inputs, labels: train.labels });
      test.inputs.push(...task.test.inputs);
      test.labels.push(...task.test.labels);
      test.taskIds.push(...task.test.inputs.map(() => t));
    }
  } catch (e) {
    learner.dispose();
    throw e;
  }
  return { learner, test: { inputs: test.inputs, labels: Int32Array.from(test.labels), taskIds: Int32Array.from(test.taskIds) } };
}

/** Writes `model` as a Hugging Face checkpoint directory (config.json + model.safetensors). */
export async function saveModelDir(model: Model, dir: string): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [key, tensor] of model.weights) tensors[key] = { dtype: 'F32', shape: tensor.shape, data: tensor.dataSync() as Float32Array };
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(model.config));
  return dir;
}
