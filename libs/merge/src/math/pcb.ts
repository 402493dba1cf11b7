import { invalidArgument } from '@patchwork/errors';
import { kthSmallest } from '@patchwork/tensor';

/**
 * PCB-Merging (Du et al., NeurIPS 2024) as the authors released it (`PCB_merge` in
 * pcb-merging.py), for n task vectors of d elements each:
 *
 *   Â_i = clamp(|T_i|, lo_i, hi_i)  with lo_i = sortAsc(|T_i|)[int(d·q)], hi_i = sortAsc(|T_i|)[int(d·(1−q)−1)]
 *   T̂_i = sign(T_i)·Â_i
 *   β_i = exp(n·minmax(Â_i)²) · tanh(T_i ⊙ Σ_j T_j)                  (intra- times inter-balancing)
 *   s_i = minmax(clamp(β_i, thr_i, max β_i)),  thr_i = sortAsc(β_i)[int(d·(1−r))]
 *   τ_m = Σ_i w_i s_i T̂_i / max(Σ_i s_i, 1e-12)                      (w_i = 1 in PCB_merge; λ_i in the ES variant)
 *
 * min(Â_i) = lo_i and max(Â_i) = hi_i (clamping to values of the data), so the statistics are
 * four numbers per task — lo, hi, thr, max β — which is what makes the whole-model version
 * possible in bounded memory: exact global selections in walks over the tensors, then the same
 * elementwise arithmetic per tensor. Arithmetic is float32 step by step like torch's (products,
 * exp and tanh rounded to float32, sums model by model), so a split model gives exactly the flat
 * result. Where the reference divides 0/0 (a constant task, or max β = thr) this uses 0.
 */
export interface PcbOptions {
  /** Fraction of elements kept per task, r in (0, 1]. */
  ratio: number;
  /** Outlier-clip fraction q in [0, 0.5); the authors use 1e-4. */
  clip?: number;
}

export interface PcbTaskStats {
  lo: number;
  hi: number;
}

export interface PcbScaleStats {
  threshold: number;
  maxBeta: number;
}

const f32 = Math.fround;
const TINY = f32(1e-12);

export function assertPcbOptions(options: PcbOptions): Required<PcbOptions> {
  const clip = options.clip ?? 1e-4;
  if (!(options.ratio > 0 && options.ratio <= 1)) throw invalidArgument('ratio', `must be within (0, 1], got ${options.ratio}`);
  if (!(clip >= 0 && clip < 0.5)) throw invalidArgument('clip', `must be within [0, 0.5), got ${clip}`);
  return { ratio: options.ratio, clip };
}

/** 0-based ascending ranks the reference's clamp reads: [int(d·q), int(d·(1−q)−1)] (Python int() truncates). */
export function clipRanks(d: number, clip: number): [number, number] {
  const low = Math.trunc(d * clip);
  const high = Math.max(Math.trunc(d * (1 - clip) - 1), 0);
  return [Math.min(low, d - 1), Math.min(high, d - 1)];
}

/** The rank of thr: int(d·(1−r)), at most d − 1. */
export function thresholdRank(d: number, ratio: number): number {
  return Math.min(Math.trunc(d * (1 - ratio)), d - 1);
}

/** Σ_j T_j elementwise, in float32, model by model. */
export function sumOfTasks(tasks: Float32Array[]): Float32Array {
  const out = new Float32Array(tasks[0].length);
  for (const t of tasks) for (let j = 0; j < out.length; j++) out[j] = f32(out[j] + t[j]);
  return out;
}

/** β_i for one task over a stretch of elements, written into `out`. */
export function balanceScores(task: Float32Array, sum: Float32Array, n: number, stats: PcbTaskStats, out: Float32Array): Float32Array {
  const lo = stats.lo;
  const hi = stats.hi;
  const range = f32(hi - lo);
  for (let j = 0; j < task.length; j++) {
    const x = task[j];
    const clamped = Math.min(Math.max(Math.abs(x), lo), hi);
    const normalized = range > 0 ? f32(f32(clamped - lo) / range) : 0;
    const intra = f32(Math.exp(f32(n * f32(normalized * normalized))));
    const inter = f32(Math.tanh(f32(x * sum[j])));
    out[j] = f32(intra * inter);
  }
  return out;
}

/** s_i from β_i: 0 at or below thr, (β − thr)/(max β − thr) above. Overwrites `beta`. */
export function scalesFromBeta(beta: Float32Array, stats: PcbScaleStats): Float32Array {
  const { threshold, maxBeta } = stats;
  const range = f32(maxBeta - threshold);
  for (let j = 0; j < beta.length; j++) beta[j] = range > 0 ? f32(f32(Math.max(beta[j], threshold) - threshold) / range) : 0;
  return beta;
}

/** T̂_i = sign(T_i)·clamp(|T_i|, lo, hi). */
export function clampTask(task: Float32Array, stats: PcbTaskStats): Float32Array {
  const out = new Float32Array(task.length);
  for (let j = 0; j < task.length; j++) {
    const x = task[j];
    const m = Math.min(Math.max(Math.abs(x), stats.lo), stats.hi);
    out[j] = x > 0 ? m : x < 0 ? -m : 0;
  }
  return out;
}

/** τ_m = Σ w_i s_i T̂_i / max(Σ s_i, 1e-12). */
export function combineScaled(clamped: Float32Array[], scales: Float32Array[], weights: readonly number[]): Float32Array {
  const out = new Float32Array(clamped[0].length);
  const w = weights.map(f32);
  for (let j = 0; j < out.length; j++) {
    let numerator = 0;
    let denominator = 0;
    for (let i = 0; i < clamped.length; i++) {
      const term = f32(clamped[i][j] * scales[i][j]);
      numerator = f32(numerator + (w[i] === 1 ? term : f32(term * w[i])));
      denominator = f32(denominator + scales[i][j]);
    }
    out[j] = f32(numerator / Math.max(denominator, TINY));
  }
  return out;
}

/** Per-task clip statistics of in-memory task vectors (exact selection). */
export function taskStatsOf(task: Float32Array, clip: number): PcbTaskStats {
  const abs = task.map(Math.abs);
  const [low, high] = clipRanks(abs.length, clip);
  return { lo: kthSmallest(abs, low + 1), hi: kthSmallest(abs, high + 1) };
}

/** Threshold and maximum of in-memory balance scores. */
export function scaleStatsOf(beta: Float32Array, ratio: number): PcbScaleStats {
  let maxBeta = -Infinity;
  for (let j = 0; j < beta.length; j++) if (beta[j] > maxBeta) maxBeta = beta[j];
  return { threshold: kthSmallest(beta, thresholdRank(beta.length, ratio) + 1), maxBeta };
}

export interface PcbResult {
  /** The merged task vector τ_m (the model is base + λ·τ_m). */
  merged: Float32Array;
  /** T̂_i, the task vectors after outlier clamping. */
  clamped: Float32Array[];
  /** s_i, the balancing weights. */
  scale: Float32Array[];
}

/**
 * The authors' `PCB_merge` on in-memory task vectors (one Float32Array per task, equal lengths),
 * returning what it returns. `weights` are the ES variant's per-task λ_i (default 1).
 */
export function pcbMerge(tasks: Float32Array[], options: PcbOptions, weights?: readonly number[]): PcbResult {
  const { ratio, clip } = assertPcbOptions(options);
  if (tasks.length === 0) throw invalidArgument('tasks', 'needs at least one task vector');
  const d = tasks[0].length;
  if (d === 0) throw invalidArgument('tasks', 'task vectors are empty');
  tasks.forEach((t, i) => {
    if (t.length !== d) throw invalidArgument(`tasks[${i}]`, `has ${t.length} elements, task 0 has ${d}`);
  });
  const w = weights ?? tasks.map(() => 1);
  if (w.length !== tasks.length) throw invalidArgument('weights', `has ${w.length} entries for ${tasks.length} tasks`);
  const n = tasks.length;
  const sum = sumOfTasks(tasks);
  const taskStats = tasks.map((t) => taskStatsOf(t, clip));
  const scale = tasks.map((t, i) => {
    const beta = balanceScores(t, sum, n, taskStats[i], new Float32Array(d));
    return scalesFromBeta(beta, scaleStatsOf(beta, ratio));
  });
  const clamped = tasks.map((t, i) => clampTask(t, taskStats[i]));
  return { merged: combineScaled(clamped, scale, w), clamped, scale };
}
