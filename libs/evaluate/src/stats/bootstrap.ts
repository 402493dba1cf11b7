import { ViolationCollector } from '@patchwork/errors';
import { sampleStddev } from './moments';
import { PythonRandom } from './python-random';

/** lm-evaluation-harness's default `bootstrap_iters`. */
export const DEFAULT_BOOTSTRAP_ITERS = 100_000;
/** lm-eval resamples in chunks of this many replicates, chunk i seeded with i. */
export const BOOTSTRAP_CHUNK = 1000;

export interface BootstrapOptions {
  /** Replicates; rounded down to whole chunks as lm-eval does. Default 100000. */
  iters?: number;
  /** Chunk i draws from `random.Random(seed + i)`; 0 (the default) is exactly lm-eval. */
  seed?: number;
}

/** A statistic of the items picked by `indices` (a resample of 0..n-1, with repeats). */
export type ResampledStatistic = (indices: Int32Array) => number;

/**
 * Several statistics that share work per resample (one confusion count for F1 and MCC, say):
 * `compute` writes statistic `names[i]` of the resample into `out[i]`.
 */
export interface ResampledGroup {
  readonly names: readonly string[];
  compute(indices: Int32Array, out: Float64Array): void;
}

/**
 * Bootstrap standard errors of several statistics of the same n items, computed the way
 * lm-eval's `bootstrap_stderr` does: min(1000, iters)-replicate chunks, chunk i resampled with
 * Python's `random.Random(i).choices(items, k=n)`, and the sample standard deviation of the
 * replicates. All statistics see the same resamples, which is what separate lm-eval runs per
 * metric would draw too (same seeds), at a fraction of the cost. A statistic is NaN when n < 2
 * (lm-eval reports "N/A" there) or when fewer than 2 replicates are asked for.
 */
export function bootstrapStderrs(n: number, statistics: Readonly<Record<string, ResampledStatistic>>, options: BootstrapOptions = {}): Record<string, number> {
  const groups = Object.entries(statistics).map(([name, statistic]) => ({
    names: [name],
    compute: (indices: Int32Array, out: Float64Array) => {
      out[0] = statistic(indices);
    },
  }));
  return bootstrapGroupStderrs(n, groups, options);
}

/** `bootstrapStderrs` over groups of statistics that share their per-resample work. */
export function bootstrapGroupStderrs(n: number, groups: readonly ResampledGroup[], options: BootstrapOptions = {}): Record<string, number> {
  const iters = options.iters ?? DEFAULT_BOOTSTRAP_ITERS;
  const seed = options.seed ?? 0;
  const problems = new ViolationCollector();
  if (!Number.isInteger(n) || n < 0) problems.add('n', `must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(iters) || iters < 1) problems.add('bootstrap_iters', `must be a positive integer, got ${iters}`);
  if (!Number.isSafeInteger(seed) || seed < 0) problems.add('seed', `must be a non-negative integer, got ${seed}`);
  const seen = new Set<string>();
  for (const name of groups.flatMap((g) => g.names)) {
    if (seen.has(name)) problems.add('statistics', `${name} appears twice`);
    seen.add(name);
  }
  problems.throwIfAny();
  const out: Record<string, number> = {};
  const chunk = Math.min(BOOTSTRAP_CHUNK, iters);
  const chunks = Math.floor(iters / chunk);
  if (n < 2 || chunks * chunk < 2) {
    for (const name of seen) out[name] = Number.NaN;
    return out;
  }
  const total = chunks * chunk;
  // Replicates of group g, statistic s, replicate r at [r * width + s]: one write stream per group.
  const replicates = groups.map((g) => new Float64Array(total * g.names.length));
  const scratch = groups.map((g) => new Float64Array(g.names.length));
  const indices = new Int32Array(n);
  let r = 0;
  for (let c = 0; c < chunks; c++) {
    const rng = new PythonRandom(seed + c);
    for (let k = 0; k < chunk; k++, r++) {
      rng.choiceIndices(n, n, indices);
      for (let g = 0; g < groups.length; g++) {
        const values = scratch[g];
        groups[g].compute(indices, values);
        replicates[g].set(values, r * values.length);
      }
    }
  }
  groups.forEach((g, gi) => {
    const width = g.names.length;
    g.names.forEach((name, s) => {
      const column = new Float64Array(total);
      for (let i = 0; i < total; i++) column[i] = replicates[gi][i * width + s];
      out[name] = sampleStddev(column);
    });
  });
  return out;
}
