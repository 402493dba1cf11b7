import { PatchworkError } from '@patchwork/errors';

/** An axis range with round tick values; `min < max` always holds. */
export interface Domain {
  readonly min: number;
  readonly max: number;
  readonly step: number;
  readonly ticks: readonly number[];
}

export interface DomainOptions {
  /** Stretch the domain to contain 0 (bar lengths must start at zero to be honest). */
  readonly includeZero?: boolean;
  /** Hard limits the domain never crosses, such as [0, 1] for an accuracy. */
  readonly bounds?: readonly [number, number];
  /** About how many intervals to aim for. */
  readonly tickCount?: number;
}

/** 1, 2 or 5 times a power of ten, at least `raw`. */
function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  // Subnormal spans underflow the power of ten to 0: keep the raw step rather than none.
  if (!(power > 0) || !Number.isFinite(power)) return raw;
  for (const m of [1, 2, 5, 10]) {
    if (m * power >= raw * (1 - 1e-12)) return m * power;
  }
  return 10 * power;
}

/** Strips the binary noise of repeated additions (0.30000000000000004). */
function clean(value: number): number {
  return Number(value.toPrecision(12));
}

/**
 * A domain that contains every finite value: NaN and infinities are skipped, no values gives
 * [0, 1], and all-equal values are padded, so a scale built on it never divides by zero.
 */
export function niceDomain(values: Iterable<number>, options: DomainOptions = {}): Domain {
  const [bLo, bHi] = options.bounds ?? [-Number.MAX_VALUE, Number.MAX_VALUE];
  if (!(bLo < bHi) || !Number.isFinite(bLo) || !Number.isFinite(bHi)) {
    throw new PatchworkError('INTERNAL', `report: bad axis bounds [${bLo}, ${bHi}]`);
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) [lo, hi] = [0, 1];
  if (options.includeZero) {
    lo = Math.min(lo, 0);
    hi = Math.max(hi, 0);
  }
  if (!(hi > lo)) {
    let pad = Math.abs(lo) * 0.1;
    if (!(pad > 0) || !Number.isFinite(pad)) pad = 1;
    lo -= pad;
    hi += pad;
  }
  lo = Math.max(lo, bLo);
  hi = Math.min(hi, bHi);
  // Values sitting on or beyond a bound can leave nothing between them: show the whole bounds.
  if (!(hi > lo)) [lo, hi] = [bLo, bHi];
  return withTicks(lo, hi, Math.max(2, options.tickCount ?? 5), bLo, bHi);
}

function withTicks(lo: number, hi: number, count: number, bLo: number, bHi: number): Domain {
  // Divided before subtracting, so domains near the float limits do not overflow to Infinity.
  const raw = hi / count - lo / count;
  const step = raw > 0 && Number.isFinite(raw) ? niceStep(raw) : hi - lo;
  let min = clean(Math.floor(lo / step) * step);
  let max = clean(Math.ceil(hi / step) * step);
  if (!Number.isFinite(min) || min > lo || min < bLo) min = lo;
  if (!Number.isFinite(max) || max < hi || max > bHi) max = hi;
  const ticks: number[] = [];
  const slack = Math.abs(step) * 1e-9;
  // Bounded by iterations too: beyond 2^53, i++ stops changing i.
  for (let k = 0, i = Math.ceil(min / step - 1e-9); k < 200 && ticks.length < 50; k++, i++) {
    const t = clean(i * step);
    if (!Number.isFinite(t) || t > max + slack) break;
    if (t >= min - slack) ticks.push(Math.min(Math.max(t, min), max));
  }
  if (ticks.length === 0) ticks.push(min, max);
  return { min, max, step, ticks };
}

/** Maps `domain` onto `[from, to]` (pixels), clamping so no mark escapes the plot area; NaN maps to the middle. */
export function linearScale(domain: { readonly min: number; readonly max: number }, from: number, to: number): (value: number) => number {
  const span = domain.max - domain.min;
  // Halving both sides only where the span overflows; it would lose subnormal precision.
  const wide = !Number.isFinite(span);
  const half = domain.max / 2 - domain.min / 2;
  return (value: number) => {
    const t = wide ? (value / 2 - domain.min / 2) / half : span > 0 ? (value - domain.min) / span : 0.5;
    // An overflowing ratio (a value far outside a tiny domain) is still on one side of it.
    const clamped = Number.isNaN(t) ? 0.5 : Math.min(1, Math.max(0, t));
    return from + (to - from) * clamped;
  };
}
