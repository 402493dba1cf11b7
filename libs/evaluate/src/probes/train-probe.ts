import { ViolationCollector, invalidArgument } from '@patchwork/errors';
import { PythonRandom } from '../stats/python-random';
import { argmax } from '../stats/argmax';
import { type PoolOptions, pooledHiddenStates } from './pool';
import { type BehaviourProbe, PROBE_FORMAT } from './probe';
import { fitSoftmaxRegression, linearScores } from './softmax-regression';

export interface TrainProbeOptions extends PoolOptions {
  /** Class index of each input. */
  readonly labels: ArrayLike<number>;
  /** Class names (default "0", "1", ...). Model Surgery: ['desired', 'undesired']. */
  readonly classes?: readonly string[];
  /** L2 strength on standardised features. Default 1 / n_train, i.e. scikit-learn's C = 1. */
  readonly l2?: number;
  /** Share held out for the reported accuracy, per class. Default 0.1 (Model Surgery's 90/10). */
  readonly testFraction?: number;
  /** Seeds the held-out split (Python's random.Random(seed) shuffle per class). Default 0. */
  readonly seed?: number;
  readonly maxIterations?: number;
}

export interface ProbeTrainingResult {
  readonly probe: BehaviourProbe;
  readonly train_accuracy: number;
  /** Null when nothing was held out. */
  readonly test_accuracy: number | null;
  readonly n_train: number;
  readonly n_test: number;
  readonly iterations: number;
  readonly converged: boolean;
  readonly loss: number;
}

function shuffled(items: number[], rng: PythonRandom): number[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** Indices held out per class: round(count · fraction) of each class after a seeded shuffle. */
function splitIndices(labels: Int32Array, numClasses: number, fraction: number, seed: number): { train: number[]; test: number[] } {
  const rng = new PythonRandom(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (let k = 0; k < numClasses; k++) {
    const members = shuffled(
      Array.from(labels.keys()).filter((i) => labels[i] === k),
      rng,
    );
    const held = Math.round(members.length * fraction);
    test.push(...members.slice(0, held));
    train.push(...members.slice(held));
  }
  return { train: train.sort((a, b) => a - b), test: test.sort((a, b) => a - b) };
}

function gather(features: Float32Array, dim: number, rows: readonly number[]): Float64Array {
  const out = new Float64Array(rows.length * dim);
  rows.forEach((r, i) => {
    for (let j = 0; j < dim; j++) out[i * dim + j] = features[r * dim + j];
  });
  return out;
}

function accuracy(weight: Float64Array, bias: Float64Array, x: Float64Array, labels: readonly number[], dim: number): number {
  const scores = linearScores(weight, bias, x, labels.length, dim);
  const c = bias.length;
  let right = 0;
  labels.forEach((y, i) => {
    if (argmax(scores.subarray(i * c, (i + 1) * c)) === y) right++;
  });
  return right / labels.length;
}

/**
 * Trains a linear behaviour probe (Model Surgery section 4.1): the model stays frozen, its
 * hidden states at `layer` are pooled, and an L2-regularised softmax regression is fitted on a
 * seeded per-class split; accuracy on the held-out part is reported. The fit itself is convex
 * and deterministic (L-BFGS from zero), so only the split depends on the seed.
 */
export function trainProbe(options: TrainProbeOptions): ProbeTrainingResult {
  const n = options.inputs?.length ?? 0;
  const labels = Int32Array.from(options.labels ?? []);
  const numClasses = options.classes?.length ?? Math.max(2, ...Array.from(labels, (y) => y + 1));
  const problems = new ViolationCollector();
  if (labels.length !== n) problems.add('labels', `has ${labels.length} entries for ${n} inputs`);
  labels.forEach((y, i) => {
    if (!Number.isInteger(options.labels[i]) || y < 0 || y >= numClasses) problems.add(`labels[${i}]`, `must be a class index in [0, ${numClasses})`);
  });
  const fraction = options.testFraction ?? 0.1;
  if (!(fraction >= 0 && fraction < 1)) problems.add('testFraction', `must be in [0, 1), got ${fraction}`);
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) problems.add('seed', `must be a non-negative integer, got ${seed}`);
  problems.throwIfAny();
  for (let k = 0; k < numClasses; k++) if (!labels.includes(k)) throw invalidArgument('labels', `class ${k} (${options.classes?.[k] ?? k}) has no examples`);

  const pooled = pooledHiddenStates(options);
  const { train, test } = splitIndices(labels, numClasses, fraction, seed);
  if (train.length < 2) throw invalidArgument('inputs', 'too few examples left to train on after holding out the test share');
  const dim = pooled.dim;
  const xTrain = gather(pooled.features, dim, train);
  const yTrain = Int32Array.from(train, (i) => labels[i]);
  const l2 = options.l2 ?? 1 / train.length;
  const fit = fitSoftmaxRegression(xTrain, train.length, dim, yTrain, numClasses, { l2, maxIterations: options.maxIterations });
  const probe: BehaviourProbe = {
    format: PROBE_FORMAT,
    layer: pooled.layer,
    pooling: options.pooling,
    hiddenSize: dim,
    classes: options.classes ? [...options.classes] : Array.from({ length: numClasses }, (_, k) => String(k)),
    weight: Float32Array.from(fit.weight),
    bias: Float32Array.from(fit.bias),
    l2,
  };
  return {
    probe,
    train_accuracy: accuracy(fit.weight, fit.bias, xTrain, Array.from(yTrain), dim),
    test_accuracy: test.length === 0 ? null : accuracy(fit.weight, fit.bias, gather(pooled.features, dim, test), test.map((i) => labels[i]), dim),
    n_train: train.length,
    n_test: test.length,
    iterations: fit.iterations,
    converged: fit.converged,
    loss: fit.loss,
  };
}
