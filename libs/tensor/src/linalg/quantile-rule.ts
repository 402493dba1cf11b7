import { invalidArgument, PatchworkError } from '@patchwork/errors';

/**
 * How a quantile picks or blends order statistics, with h = (count − 1)·q (0-based, ascending):
 * - the numpy methods of the same names: `linear` (default; numpy/torch default), `lower`
 *   (floor h), `higher` (ceil h), `nearest` (h rounded half to even, like numpy), `midpoint`;
 * - `index`: sortAsc(x)[min(floor(count·q), count − 1)], the rule of the PCB-Merging reference
 *   code (`q_at`), which none of numpy's methods reproduces.
 */
export type QuantileMethod = 'linear' | 'lower' | 'higher' | 'nearest' | 'midpoint' | 'index';

const METHODS: ReadonlySet<string> = new Set(['linear', 'lower', 'higher', 'nearest', 'midpoint', 'index']);

export interface QuantilePlan {
  /** 0-based ascending ranks of the two order statistics to blend (equal when one suffices). */
  lower: number;
  upper: number;
  /** Result = blend(v_lower, v_upper, weight). */
  weight: number;
}

export function assertQuantileArgs(q: unknown, method: unknown): asserts q is number {
  if (typeof q !== 'number' || Number.isNaN(q)) throw invalidArgument('q', `must be a number in [0, 1], got ${String(q)}`);
  if (q < 0 || q > 1) {
    throw new PatchworkError('OUT_OF_RANGE', `q: must be within [0, 1], got ${q}`, { violations: [{ field: 'q', description: 'must be within [0, 1]' }] });
  }
  if (typeof method !== 'string' || !METHODS.has(method)) {
    throw invalidArgument('options.method', `must be one of ${[...METHODS].join(', ')}, got ${String(method)}`);
  }
}

export function quantilePlan(count: number, q: number, method: QuantileMethod): QuantilePlan {
  if (method === 'index') {
    const rank = Math.min(Math.floor(count * q), count - 1);
    return { lower: rank, upper: rank, weight: 0 };
  }
  const h = (count - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  switch (method) {
    case 'lower':
      return { lower: lo, upper: lo, weight: 0 };
    case 'higher':
      return { lower: hi, upper: hi, weight: 0 };
    case 'nearest': {
      const rounded = h - lo === 0.5 ? (lo % 2 === 0 ? lo : hi) : Math.round(h);
      return { lower: rounded, upper: rounded, weight: 0 };
    }
    case 'midpoint':
      return { lower: lo, upper: hi, weight: 0.5 };
    case 'linear':
      return { lower: lo, upper: hi, weight: h - lo };
  }
}

/** Interpolates like numpy's `_lerp`: exact at both ends, monotone in the weight. */
export function blend(a: number, b: number, weight: number): number {
  if (a === b || weight === 0) return a;
  const diff = b - a;
  return weight >= 0.5 ? b - diff * (1 - weight) : a + diff * weight;
}
