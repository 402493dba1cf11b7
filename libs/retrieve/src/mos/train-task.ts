import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import { SeededRandom, tf } from '@patchwork/tensor';
import { AdamW, classificationLoss, lrSchedule } from '@patchwork/training';
import type { BottleneckAdapter } from './bottleneck-adapter';
import { vitFeatures } from './features';
import { type ImageGeometry, type ImageInputs, selectImages } from './image-inputs';
import type { LinearHead } from './linear-head';

export interface TaskTrainingOptions {
  /** Passes over the task's training examples. */
  readonly epochs: number;
  readonly batchSize: number;
  /** AdamW peak learning rate (cosine decay after a linear warmup). */
  readonly lr: number;
  readonly weightDecay: number;
  readonly warmupSteps: number;
  /** Weight of MOS's orthogonality loss (0.1 in the paper); 0 turns it off. */
  readonly orthogonalityWeight: number;
  /** Temperature dividing the similarity matrix of that loss (0.8 in the paper). */
  readonly orthogonalityTemperature: number;
}

export const DEFAULT_TASK_TRAINING: TaskTrainingOptions = {
  epochs: 10,
  batchSize: 32,
  lr: 1e-2,
  weightDecay: 0,
  warmupSteps: 5,
  orthogonalityWeight: 0.1,
  orthogonalityTemperature: 0.8,
};

export function checkTaskTraining(o: TaskTrainingOptions, field: string, problems: ViolationCollector): void {
  if (!Number.isInteger(o.epochs) || o.epochs < 1) problems.add(`${field}.epochs`, `must be a positive integer, got ${o.epochs}`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) problems.add(`${field}.batchSize`, `must be a positive integer, got ${o.batchSize}`);
  if (!(Number.isFinite(o.lr) && o.lr > 0)) problems.add(`${field}.lr`, `must be a positive number, got ${o.lr}`);
  if (!(Number.isFinite(o.weightDecay) && o.weightDecay >= 0)) problems.add(`${field}.weightDecay`, `must be a non-negative number, got ${o.weightDecay}`);
  if (!Number.isInteger(o.warmupSteps) || o.warmupSteps < 0) problems.add(`${field}.warmupSteps`, `must be a non-negative integer, got ${o.warmupSteps}`);
  if (!(Number.isFinite(o.orthogonalityWeight) && o.orthogonalityWeight >= 0)) problems.add(`${field}.orthogonalityWeight`, `must be a non-negative number, got ${o.orthogonalityWeight}`);
  if (!(Number.isFinite(o.orthogonalityTemperature) && o.orthogonalityTemperature > 0)) problems.add(`${field}.orthogonalityTemperature`, `must be a positive number, got ${o.orthogonalityTemperature}`);
}

export interface TaskTrainingProgress {
  readonly step: number;
  readonly totalSteps: number;
  readonly loss: number;
}

export interface TrainTaskArgs {
  readonly model: Model;
  readonly adapter: BottleneckAdapter;
  readonly head: LinearHead;
  readonly inputs: ImageInputs;
  readonly geometry: ImageGeometry;
  /** Head column of each example. */
  readonly targets: Int32Array;
  /** Head columns `[from, to)` of the current task; the others are masked out of the cross-entropy. */
  readonly columns: readonly [number, number];
  /** Class means of earlier tasks `[m, dim]` (the orthogonality loss keeps new features away from them). */
  readonly anchors?: Float32Array;
  /** Runs after every optimizer step (MOS's momentum merge). */
  readonly afterStep?: () => void;
  readonly options: TaskTrainingOptions;
  readonly seed: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: TaskTrainingProgress) => void;
}

/**
 * MOS's orthogonality loss (the reference's `orth_loss`): with M the earlier class means stacked
 * over the batch features, cross-entropy of the raw similarity matrix M·Mᵀ/τ against the identity,
 * pushing each new feature away from the old classes and from the rest of the batch.
 */
export function orthogonalityLoss(features: tf.Tensor2D, anchors: tf.Tensor2D | undefined, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const m = anchors === undefined ? features : tf.concat([anchors, features], 0);
    const sim = tf.div(tf.matMul(m, m, false, true), temperature) as tf.Tensor2D;
    return crossEntropyOf(sim, tf.range(0, m.shape[0], 1, 'int32'));
  });
}

/**
 * Mean cross-entropy, also for a single class: its value is then 0, kept connected to the logits
 * (tfjs's one-hot refuses depth 1, and a loss cut off from every variable makes gradients fail).
 */
export function crossEntropyOf(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  if (logits.shape[1] === 1) return tf.tidy(() => tf.mul(tf.sum(logits), 0) as tf.Scalar);
  return classificationLoss(logits, labels);
}

/** A column mask: 0 on `[from, to)`, a large negative number elsewhere (the reference's `-inf`, kept finite). */
function columnMask(classes: number, from: number, to: number): tf.Tensor1D {
  const mask = new Float32Array(classes).fill(-1e9);
  mask.fill(0, from, to);
  return tf.tensor1d(mask);
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Trains a task adapter and the head on one task: cross-entropy over the task's own classes plus
 * the orthogonality loss, AdamW with warmup and cosine decay, shuffled epochs. Yields to the event
 * loop between steps and stops with CANCELLED when `signal` aborts.
 */
export async function trainTask(args: TrainTaskArgs): Promise<{ steps: number; finalLoss: number }> {
  const { model, adapter, head, inputs, geometry, targets, options } = args;
  const count = targets.length;
  const stepsPerEpoch = Math.ceil(count / options.batchSize);
  const totalSteps = stepsPerEpoch * options.epochs;
  const params = new Map<string, tf.Variable>([...adapter.namedVariables(), ...head.namedVariables()]);
  const optimizer = new AdamW(params, { lr: options.lr, weightDecay: options.weightDecay });
  const schedule = lrSchedule({ kind: 'cosine', warmupSteps: Math.min(options.warmupSteps, totalSteps - 1) }, totalSteps);
  const rng = new SeededRandom(args.seed);
  const mask = columnMask(head.numClasses, args.columns[0], args.columns[1]);
  const anchors = args.anchors === undefined || args.anchors.length === 0 ? undefined : tf.tensor2d(args.anchors, [args.anchors.length / head.dim, head.dim]);
  let finalLoss = Number.NaN;
  let step = 0;
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const order = Array.from({ length: count }, (_, i) => i);
      for (let i = count - 1; i > 0; i--) {
        const j = Math.floor(rng.nextFloat() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (let start = 0; start < count; start += options.batchSize) {
        if (args.signal?.aborted) throw new PatchworkError('CANCELLED', `task training cancelled at step ${step}/${totalSteps}`);
        const rows = order.slice(start, start + options.batchSize);
        const pixels = tf.tensor4d(selectImages(inputs, geometry, rows), [rows.length, geometry.channels, geometry.size, geometry.size]);
        const labels = tf.tensor1d(Int32Array.from(rows, (r) => targets[r]), 'int32');
        try {
          const { value, grads } = tf.variableGrads(() => {
            const features = vitFeatures(model, pixels, adapter.patches({ training: true }));
            const ce = crossEntropyOf(tf.add(head.logits(features), mask) as tf.Tensor2D, labels);
            if (options.orthogonalityWeight === 0) return ce;
            return tf.add(ce, tf.mul(orthogonalityLoss(features, anchors, options.orthogonalityTemperature), options.orthogonalityWeight)) as tf.Scalar;
          }, [...params.values()]);
          const named = new Map<string, tf.Tensor>();
          for (const [name, v] of params) {
            const g = grads[v.name];
            if (g !== undefined) named.set(name, g);
          }
          optimizer.apply(named, options.lr * schedule.multiplier(step));
          finalLoss = value.dataSync()[0];
          tf.dispose([value, ...Object.values(grads)]);
        } finally {
          pixels.dispose();
          labels.dispose();
        }
        if (!Number.isFinite(finalLoss)) throw new PatchworkError('FAILED_PRECONDITION', `task training diverged at step ${step} (loss ${finalLoss}); lower the learning rate`);
        args.afterStep?.();
        step++;
        args.onProgress?.({ step, totalSteps, loss: finalLoss });
        await yieldToEventLoop();
      }
    }
  } finally {
    optimizer.dispose();
    mask.dispose();
    anchors?.dispose();
  }
  return { steps: step, finalLoss };
}
