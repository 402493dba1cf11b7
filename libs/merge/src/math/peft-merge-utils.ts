import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { topKMask } from './rank-window';

/**
 * Tensor-level mirrors of PEFT's `utils/merge_utils.py`, on one module's task tensors (flattened,
 * equal length). Arithmetic follows torch's float32 evaluation order (weights cast to float32,
 * products and sums rounded to float32 at each step, sums taken model by model), so results agree
 * with PEFT to float32 rounding. Differences by design:
 * - top-k ties keep the earlier positions (torch.topk's order is unspecified);
 * - the random masks come from a caller-supplied uniform draw (torch's generator cannot be
 *   reproduced), so DARE matches PEFT in distribution, not bit for bit.
 */
export type MajoritySignMethod = 'total' | 'frequency';

/** A draw in [0, 1) for element `index` of task `task`. */
export type UniformSource = (task: number, index: number) => number;

const f32 = Math.fround;

function assertSameLength(tensors: Float32Array[], field: string): number {
  if (tensors.length === 0) throw invalidArgument(field, 'needs at least one task tensor');
  const n = tensors[0].length;
  tensors.forEach((t, i) => {
    if (t.length !== n) throw invalidArgument(`${field}[${i}]`, `has ${t.length} elements, task 0 has ${n}`);
  });
  return n;
}

function assertWeights(weights: readonly number[], count: number): number[] {
  if (weights.length !== count) throw invalidArgument('weights', `has ${weights.length} entries for ${count} task tensors`);
  return weights.map((w) => f32(w));
}

/** `magnitude_based_pruning`: keep the k = int(density·n) largest magnitudes (k = 0 zeroes the tensor). */
export function magnitudeBasedPruning(tensor: Float32Array, density: number): Float32Array {
  const mask = topKMask(tensor, Math.trunc(density * tensor.length));
  const out = new Float32Array(tensor.length);
  for (let i = 0; i < out.length; i++) if (mask[i]) out[i] = tensor[i];
  return out;
}

/** `random_pruning`: keep with probability density; `rescale` divides the kept values by density. */
export function randomPruning(tensor: Float32Array, density: number, rescale: boolean, uniform: (index: number) => number): Float32Array {
  const out = new Float32Array(tensor.length);
  const d = f32(density);
  for (let i = 0; i < out.length; i++) if (uniform(i) < density) out[i] = rescale ? f32(tensor[i] / d) : tensor[i];
  return out;
}

/** `prune`: density >= 1 returns the tensor unchanged, density < 0 is an error. */
export function prune(
  tensor: Float32Array,
  density: number,
  method: 'magnitude' | 'random',
  options: { rescale?: boolean; uniform?: (index: number) => number } = {},
): Float32Array {
  if (!Number.isFinite(density)) throw invalidArgument('density', `must be a finite number, got ${density}`);
  if (density >= 1) return tensor.slice();
  if (density < 0) throw new PatchworkError('OUT_OF_RANGE', `density: must be >= 0, got ${density}`, { violations: [{ field: 'density', description: 'must be >= 0' }] });
  if (method === 'magnitude') return magnitudeBasedPruning(tensor, density);
  if (!options.uniform) throw invalidArgument('uniform', 'random pruning needs a uniform source');
  return randomPruning(tensor, density, options.rescale ?? false, options.uniform);
}

/** `calculate_majority_sign_mask`: per task, where sign(τ_i) equals the elected sign (Σ τ or Σ sign(τ); 0 elects +). */
export function calculateMajoritySignMask(tensors: Float32Array[], method: MajoritySignMethod = 'total'): Uint8Array[] {
  const n = assertSameLength(tensors, 'tensors');
  if (method !== 'total' && method !== 'frequency') throw invalidArgument('majority_sign_method', `must be total or frequency, got ${String(method)}`);
  const masks = tensors.map(() => new Uint8Array(n));
  for (let j = 0; j < n; j++) {
    let magnitude = 0;
    for (const t of tensors) magnitude = method === 'total' ? f32(magnitude + t[j]) : magnitude + Math.sign(t[j]);
    const majority = magnitude >= 0 ? 1 : -1;
    tensors.forEach((t, i) => (masks[i][j] = Math.sign(t[j]) === majority ? 1 : 0));
  }
  return masks;
}

/** `disjoint_merge`: Σ over agreeing entries / max(number agreeing, 1). */
export function disjointMerge(tensors: Float32Array[], masks: Uint8Array[]): Float32Array {
  const n = assertSameLength(tensors, 'tensors');
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let sum = 0;
    let count = 0;
    tensors.forEach((t, i) => {
      if (masks[i][j]) {
        sum = f32(sum + t[j]);
        count++;
      }
    });
    out[j] = f32(sum / Math.max(count, 1));
  }
  return out;
}

function weightedSum(tensors: Float32Array[], weights: number[]): Float32Array {
  const out = new Float32Array(tensors[0].length);
  for (let j = 0; j < out.length; j++) {
    let sum = 0;
    for (let i = 0; i < tensors.length; i++) sum = f32(sum + f32(tensors[i][j] * weights[i]));
    out[j] = sum;
  }
  return out;
}

function weighted(tensors: Float32Array[], weights: number[]): Float32Array[] {
  return tensors.map((t, i) => t.map((x) => f32(x * weights[i])));
}

/** `task_arithmetic`: Σ w_i τ_i. */
export function taskArithmetic(tasks: Float32Array[], weights: readonly number[]): Float32Array {
  assertSameLength(tasks, 'tasks');
  return weightedSum(tasks, assertWeights(weights, tasks.length));
}

/** `magnitude_prune`: prune each task by magnitude, then Σ w_i τ̂_i. */
export function magnitudePrune(tasks: Float32Array[], weights: readonly number[], density: number): Float32Array {
  assertSameLength(tasks, 'tasks');
  const w = assertWeights(weights, tasks.length);
  return weightedSum(tasks.map((t) => prune(t, density, 'magnitude')), w);
}

/** The second half of `ties` and `dare_ties`: elect signs on the unweighted pruned tasks, then the disjoint mean of the weighted ones. */
export function electAndMerge(pruned: Float32Array[], weights: readonly number[], majoritySignMethod: MajoritySignMethod = 'total'): Float32Array {
  assertSameLength(pruned, 'pruned');
  const w = assertWeights(weights, pruned.length);
  const masks = calculateMajoritySignMask(pruned, majoritySignMethod);
  return disjointMerge(weighted(pruned, w), masks);
}

/** `ties`: magnitude prune, elect signs on the unweighted pruned tasks, disjoint mean of the weighted ones. */
export function ties(tasks: Float32Array[], weights: readonly number[], density: number, majoritySignMethod: MajoritySignMethod = 'total'): Float32Array {
  assertSameLength(tasks, 'tasks');
  return electAndMerge(
    tasks.map((t) => prune(t, density, 'magnitude')),
    weights,
    majoritySignMethod,
  );
}

/** `dare_linear`: random prune with 1/density rescale, then Σ w_i τ̂_i. */
export function dareLinear(tasks: Float32Array[], weights: readonly number[], density: number, uniform: UniformSource): Float32Array {
  assertSameLength(tasks, 'tasks');
  const w = assertWeights(weights, tasks.length);
  return weightedSum(tasks.map((t, i) => prune(t, density, 'random', { rescale: true, uniform: (j) => uniform(i, j) })), w);
}

/** `dare_ties`: random prune with rescale, elect signs unweighted, disjoint mean of the weighted tasks. */
export function dareTies(
  tasks: Float32Array[],
  weights: readonly number[],
  density: number,
  majoritySignMethod: MajoritySignMethod,
  uniform: UniformSource,
): Float32Array {
  assertSameLength(tasks, 'tasks');
  const pruned = tasks.map((t, i) => prune(t, density, 'random', { rescale: true, uniform: (j) => uniform(i, j) }));
  return electAndMerge(pruned, weights, majoritySignMethod);
}
