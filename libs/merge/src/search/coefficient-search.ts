import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { SeededRandom } from '@patchwork/tensor';

/**
 * Gradient-free search for per-model merge coefficients (PCB's λ_i, or task-arithmetic weights)
 * that maximise a caller-supplied score — validation accuracy in practice. The PCB authors use
 * nevergrad's NGOpt with a budget of 100–200 over a box such as [0.8, 1.3]^n; this is a small,
 * deterministic stand-in with the same interface shape:
 *
 * 1. evaluate the initial point (default all 1.0);
 * 2. exploration: a seeded Latin-hypercube sample of the box (a fraction of the budget), so each
 *    coordinate's range is covered evenly even with few samples;
 * 3. refinement: compass (coordinate pattern) search from the best point so far — try ±step on
 *    each coordinate in a seeded order, move on the first improvement, halve every step after a
 *    sweep without one — until the budget is spent or every step is below `minStep`.
 *
 * Points are evaluated at most once (a cache keyed by the coordinates), so the budget counts
 * distinct score calls. Only improvements strictly above the best score move the search, so a
 * flat or noisy-plateau objective stays at the earliest best point. Score on a validation split,
 * never on the test split (the released PCB NLP code searched on test data).
 */
export interface CoefficientSearchOptions {
  /** Number of coefficients (models). */
  dimensions: number;
  /** Higher is better. Called sequentially, never concurrently. NaN is an error. */
  score: (coefficients: number[]) => number | Promise<number>;
  /** Box bounds, one number for every coordinate or one per coordinate; default [0.8, 1.3] (PCB vision). */
  lower?: number | readonly number[];
  upper?: number | readonly number[];
  /** Start point (clamped into the box); default 1.0 per coordinate. */
  initial?: number | readonly number[];
  /** Maximum number of score calls; default 100. */
  budget?: number;
  /** Share of the budget spent on exploration; default 0.3. */
  explorationFraction?: number;
  /** Smallest refinement step, as a fraction of each coordinate's range; default 1e-3. */
  minStep?: number;
  seed?: number;
  signal?: AbortSignal;
  onEvaluation?: (evaluation: SearchEvaluation, best: SearchEvaluation) => void;
}

export interface SearchEvaluation {
  coefficients: number[];
  score: number;
}

export interface CoefficientSearchResult {
  best: number[];
  bestScore: number;
  /** Every score call, in order. */
  evaluations: SearchEvaluation[];
}

function vector(value: number | readonly number[] | undefined, fallback: number, n: number, field: string): number[] {
  const out = value === undefined ? new Array<number>(n).fill(fallback) : typeof value === 'number' ? new Array<number>(n).fill(value) : [...value];
  if (out.length !== n) throw invalidArgument(field, `needs ${n} values (one per coefficient), got ${out.length}`);
  out.forEach((v, i) => {
    if (!Number.isFinite(v)) throw invalidArgument(`${field}[${i}]`, `must be finite, got ${v}`);
  });
  return out;
}

export async function searchCoefficients(options: CoefficientSearchOptions): Promise<CoefficientSearchResult> {
  const n = options.dimensions;
  if (!Number.isSafeInteger(n) || n < 1) throw invalidArgument('dimensions', `must be a positive integer, got ${n}`);
  if (typeof options.score !== 'function') throw invalidArgument('score', 'must be a function of the coefficients');
  const lower = vector(options.lower, 0.8, n, 'lower');
  const upper = vector(options.upper, 1.3, n, 'upper');
  lower.forEach((lo, i) => {
    if (!(lo < upper[i])) throw invalidArgument(`lower[${i}]`, `must be below upper[${i}] (${lo} >= ${upper[i]})`);
  });
  const budget = options.budget ?? 100;
  if (!Number.isSafeInteger(budget) || budget < 1) throw invalidArgument('budget', `must be a positive integer, got ${budget}`);
  const explorationFraction = options.explorationFraction ?? 0.3;
  if (!(explorationFraction >= 0 && explorationFraction <= 1)) throw invalidArgument('explorationFraction', 'must be within [0, 1]');
  const minStep = options.minStep ?? 1e-3;
  if (!(minStep > 0)) throw invalidArgument('minStep', 'must be positive');
  const rng = new SeededRandom(options.seed ?? 0);
  const clamp = (x: number[]) => x.map((v, i) => Math.min(upper[i], Math.max(lower[i], v)));

  const evaluations: SearchEvaluation[] = [];
  const cache = new Map<string, number>();
  const state: { best?: SearchEvaluation } = {};
  const evaluate = async (point: number[]): Promise<number | null> => {
    const key = point.join(',');
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    if (evaluations.length >= budget) return null;
    if (options.signal?.aborted) throw new PatchworkError('CANCELLED', 'coefficient search cancelled');
    const score = await options.score([...point]);
    if (typeof score !== 'number' || Number.isNaN(score)) throw invalidArgument('score', `returned ${String(score)} for [${point.join(', ')}]; scores must be numbers`);
    const evaluation = { coefficients: [...point], score };
    evaluations.push(evaluation);
    cache.set(key, score);
    if (!state.best || score > state.best.score) state.best = evaluation;
    options.onEvaluation?.(evaluation, state.best);
    return score;
  };

  await evaluate(clamp(vector(options.initial, 1, n, 'initial')));

  // Latin hypercube: each coordinate's range cut into `samples` strata, one point per stratum, strata shuffled per coordinate.
  const samples = Math.min(Math.floor(budget * explorationFraction), budget - evaluations.length);
  if (samples > 0) {
    const strata = Array.from({ length: n }, () => {
      const order = Array.from({ length: samples }, (_, s) => s);
      for (let s = samples - 1; s > 0; s--) {
        const r = Math.floor(rng.nextFloat() * (s + 1));
        [order[s], order[r]] = [order[r], order[s]];
      }
      return order;
    });
    for (let s = 0; s < samples; s++) {
      const point = lower.map((lo, i) => lo + ((strata[i][s] + rng.nextFloat()) / samples) * (upper[i] - lo));
      if ((await evaluate(point)) === null) break;
    }
  }

  const start = state.best as SearchEvaluation;
  const current = [...start.coefficients];
  let currentScore = start.score;
  const steps = lower.map((lo, i) => 0.25 * (upper[i] - lo));
  const floor = lower.map((lo, i) => minStep * (upper[i] - lo));
  refine: while (evaluations.length < budget && steps.some((s, i) => s >= floor[i])) {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const r = Math.floor(rng.nextFloat() * (i + 1));
      [order[i], order[r]] = [order[r], order[i]];
    }
    let improved = false;
    for (const k of order) {
      if (steps[k] < floor[k]) continue;
      for (const direction of [1, -1]) {
        const candidate = [...current];
        candidate[k] = Math.min(upper[k], Math.max(lower[k], current[k] + direction * steps[k]));
        if (candidate[k] === current[k]) continue;
        const score = await evaluate(candidate);
        if (score === null) break refine;
        if (score > currentScore) {
          current[k] = candidate[k];
          currentScore = score;
          improved = true;
          break;
        }
      }
    }
    if (!improved) for (let k = 0; k < n; k++) steps[k] /= 2;
  }

  const winner = state.best as SearchEvaluation;
  return { best: [...winner.coefficients], bestScore: winner.score, evaluations };
}
