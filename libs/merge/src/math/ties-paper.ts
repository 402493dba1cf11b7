import { invalidArgument } from '@patchwork/errors';
import { kthSmallest } from '@patchwork/tensor';

/**
 * TIES-Merging as the original repository implements it (`ties_merging`, also used inside the PCB
 * repository), on task vectors flattened over the whole model:
 *
 *   trim:  keep |τ| >= the k-th smallest |τ| with k = d − int(d·density) (ties at the threshold all stay)
 *   elect: sgn = sign(Σ_i τ̂_i) ("total"; "frequency": sign(Σ_i sign τ̂_i)); where that is 0,
 *          the global majority sign(Σ_j sgn_j) over the whole model
 *   merge: mean of the entries agreeing with sgn (non-zero ones only; 0 where none agree)
 *
 * The model is base + λ·τ_m. Sums run in float32 like torch's.
 */
export type SignElection = 'total' | 'frequency';

const f32 = Math.fround;

/** 0-based ascending rank of the trim threshold, or null when density keeps everything. */
export function trimThresholdRank(d: number, density: number): number | null {
  if (density >= 1) return null;
  return d - Math.trunc(d * density) - 1;
}

/** τ̂: entries with |τ| >= threshold. */
export function trimAt(task: Float32Array, threshold: number): Float32Array {
  const out = new Float32Array(task.length);
  for (let j = 0; j < task.length; j++) if (Math.abs(task[j]) >= threshold) out[j] = task[j];
  return out;
}

/** The per-element election value (its sign is the elected sign before zero resolution). */
function electionValue(trimmed: Float32Array[], j: number, method: SignElection): number {
  let value = 0;
  for (const t of trimmed) value = method === 'total' ? f32(value + t[j]) : value + Math.sign(t[j]);
  return value;
}

/** Σ_j sign(election_j) over a stretch of elements: accumulate over the whole model for the majority. */
export function signTally(trimmed: Float32Array[], method: SignElection): number {
  let tally = 0;
  for (let j = 0; j < trimmed[0].length; j++) tally += Math.sign(electionValue(trimmed, j, method));
  return tally;
}

/** Disjoint mean with the global majority sign filling zero elections. */
export function disjointMean(trimmed: Float32Array[], method: SignElection, majority: number): Float32Array {
  const out = new Float32Array(trimmed[0].length);
  for (let j = 0; j < out.length; j++) {
    let sign = Math.sign(electionValue(trimmed, j, method));
    if (sign === 0) sign = majority;
    let sum = 0;
    let count = 0;
    for (const t of trimmed) {
      const x = t[j];
      // torch.where(sign > 0, τ > 0, τ < 0): a zero majority keeps the negative entries.
      if (sign > 0 ? x > 0 : x < 0) {
        sum = f32(sum + x);
        count++;
      }
    }
    out[j] = count > 0 ? f32(sum / count) : 0;
  }
  return out;
}

/** The original `ties_merging` on in-memory flattened task vectors (one density per task or one for all). */
export function tiesMerging(tasks: Float32Array[], density: number | readonly number[], method: SignElection = 'total'): Float32Array {
  if (tasks.length === 0) throw invalidArgument('tasks', 'needs at least one task vector');
  const d = tasks[0].length;
  tasks.forEach((t, i) => {
    if (t.length !== d) throw invalidArgument(`tasks[${i}]`, `has ${t.length} elements, task 0 has ${d}`);
  });
  const densities = typeof density === 'number' ? tasks.map(() => density) : [...density];
  const trimmed = tasks.map((t, i) => {
    const rank = trimThresholdRank(d, densities[i]);
    return rank === null ? t.slice() : trimAt(t, kthSmallest(t, rank + 1, { abs: true }));
  });
  return disjointMean(trimmed, method, Math.sign(signTally(trimmed, method)));
}
