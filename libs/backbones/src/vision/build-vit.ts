import { type ImageTaskSplits, type Split, loadTask } from '@patchwork/datasets';
import { PatchworkError } from '@patchwork/errors';
import { type Model, createModel } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { classificationLoss, train } from '@patchwork/training';
import { type BackboneMetrics, type BuildContext, report } from '../build/context';
import { vitShapes } from '../init/parameter-shapes';
import { seededInit, transformersInitRule, variableOf } from '../init/seeded-init';
import { CONFIG_FILE, writeJsonFiles, writeWeights } from '../io/hf-writer';
import type { VitRecipe } from '../recipes/recipes';

export const PREPROCESSOR_FILE = 'preprocessor_config.json';
export const DIGIT_IMAGE_SIZE = 8;

/** One split restricted to the recipe's classes, labels renumbered 0..k-1 in `classes` order. */
export interface DigitSet {
  readonly pixels: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
}

function restrict(split: Split<Float32Array>, classes: readonly number[]): DigitSet {
  const chosen: number[] = [];
  split.labels.forEach((y, i) => {
    if (classes.includes(y)) chosen.push(i);
  });
  const pixels = new Float32Array(chosen.length * DIGIT_IMAGE_SIZE ** 2);
  chosen.forEach((i, row) => pixels.set(split.inputs[i], row * DIGIT_IMAGE_SIZE ** 2));
  return { pixels, labels: Int32Array.from(chosen, (i) => classes.indexOf(split.labels[i])), count: chosen.length };
}

/**
 * `pixel_values [B, 1, 8, 8]` for digit images given as the datasets library's features (pixel /
 * 16, in [0, 1]). The backbone takes them as they are: its preprocessor config only rescales raw
 * 0..16 pixels by 1/16, so transformers' ViTImageProcessor feeds it the same numbers.
 */
export function digitPixelValues(features: Float32Array, count: number): tf.Tensor4D {
  return tf.tensor4d(features, [count, 1, DIGIT_IMAGE_SIZE, DIGIT_IMAGE_SIZE]);
}

function gatherRows(set: DigitSet, rows: readonly number[]): { pixels: Float32Array; labels: Int32Array } {
  const size = DIGIT_IMAGE_SIZE ** 2;
  const pixels = new Float32Array(rows.length * size);
  rows.forEach((r, i) => pixels.set(set.pixels.subarray(r * size, (r + 1) * size), i * size));
  return { pixels, labels: Int32Array.from(rows, (r) => set.labels[r]) };
}

/** Share of `set` the model classifies correctly. */
export function digitAccuracy(model: Model, set: DigitSet, batchSize = 128): number {
  let correct = 0;
  for (let start = 0; start < set.count; start += batchSize) {
    const rows = Array.from({ length: Math.min(batchSize, set.count - start) }, (_, i) => start + i);
    const batch = gatherRows(set, rows);
    const predicted = tf.tidy(() => tf.argMax(model.forward({ pixelValues: digitPixelValues(batch.pixels, rows.length) }).logits, -1).dataSync());
    predicted.forEach((p, i) => {
      if (p === batch.labels[i]) correct++;
    });
  }
  return correct / set.count;
}

export function vitConfig(r: VitRecipe): Record<string, unknown> {
  return {
    architectures: ['ViTForImageClassification'],
    model_type: 'vit',
    hidden_size: r.hidden,
    num_hidden_layers: r.layers,
    num_attention_heads: r.heads,
    intermediate_size: r.intermediate,
    hidden_act: 'gelu',
    layer_norm_eps: 1e-12,
    initializer_range: r.initializerRange,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    image_size: DIGIT_IMAGE_SIZE,
    patch_size: r.patchSize,
    num_channels: 1,
    qkv_bias: true,
    id2label: Object.fromEntries(r.classes.map((c, i) => [String(i), String(c)])),
    label2id: Object.fromEntries(r.classes.map((c, i) => [String(c), i])),
  };
}

/** transformers' ViTImageProcessor settings for raw 0..16 digit pixels (no resize, no normalisation). */
export const DIGITS_PREPROCESSOR = {
  image_processor_type: 'ViTImageProcessor',
  do_resize: false,
  size: { height: DIGIT_IMAGE_SIZE, width: DIGIT_IMAGE_SIZE },
  do_rescale: true,
  rescale_factor: 1 / 16,
  do_normalize: false,
  image_mean: [0],
  image_std: [1],
};

/**
 * Builds the digits ViT: supervised on the recipe's classes (train split of the datasets
 * library's digits partition, so no test image of any digits task is seen), monitored on the
 * validation split, scored on the test split.
 */
export async function buildVitBackbone(recipe: VitRecipe, outDir: string, ctx: BuildContext): Promise<{ metrics: BackboneMetrics }> {
  report(ctx, 'data', 'loading the digits');
  const task = loadTask('digits', { seed: recipe.dataSeed }) as ImageTaskSplits;
  const [trainSet, validation, test] = [task.train, task.validation, task.test].map((s) => restrict(s, recipe.classes));
  const config = vitConfig(recipe);
  const shapes = vitShapes({
    hidden: recipe.hidden,
    layers: recipe.layers,
    intermediate: recipe.intermediate,
    imageSize: DIGIT_IMAGE_SIZE,
    patchSize: recipe.patchSize,
    channels: 1,
    numLabels: recipe.classes.length,
  });
  const values = seededInit(shapes, transformersInitRule(recipe.initializerRange), ctx.seed);
  const params = new Map([...shapes].map(([key, shape]) => [key, variableOf(values.get(key) as Float32Array, shape)]));
  let model: Model;
  try {
    model = createModel(config, params);
  } catch (e) {
    for (const v of params.values()) v.dispose();
    throw new PatchworkError('INTERNAL', `the ViT recipe does not fit libs/models: ${(e as Error).message}`, { cause: e });
  }
  try {
    const t = recipe.training;
    const steps = ctx.steps ?? t.steps;
    const result = await train({
      params,
      examples: trainSet.count,
      batchSize: t.batchSize,
      maxSteps: steps,
      loss: ({ indices }) => {
        const batch = gatherRows(trainSet, indices);
        return classificationLoss(model.forward({ pixelValues: digitPixelValues(batch.pixels, indices.length) }).logits, tf.tensor1d(batch.labels, 'int32'));
      },
      optimizer: { lr: t.lr, weightDecay: t.weightDecay },
      schedule: { kind: t.schedule, warmupSteps: Math.min(t.warmupSteps, Math.floor(steps / 10)) },
      maxGradNorm: t.maxGradNorm,
      seed: ctx.seed,
      evaluation: { every: Math.max(1, Math.floor(steps / 4)), run: () => ({ eval_accuracy: digitAccuracy(model, validation) }) },
      checkpoint: ctx.checkpointDir === undefined ? undefined : { dir: ctx.checkpointDir, every: Math.max(1, Math.floor(steps / 10)) },
      signal: ctx.signal,
      onProgress: (p) => report(ctx, 'train', `step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)}`, p),
    });
    report(ctx, 'evaluate', 'scoring held-out digits');
    const metrics: BackboneMetrics = {
      accuracy: digitAccuracy(model, test),
      heldOutExamples: test.count,
      trainLoss: result.finalLoss,
      steps: result.steps,
      peakTrainingBytes: result.peakBytes,
    };
    report(ctx, 'write', `writing ${outDir}`);
    await writeWeights(outDir, params);
    await writeJsonFiles(outDir, { [CONFIG_FILE]: config, [PREPROCESSOR_FILE]: DIGITS_PREPROCESSOR });
    return { metrics };
  } finally {
    model.dispose();
  }
}
