/** How a missing or non-finite measurement reads in the report. */
export const MISSING = '\u2013';

function finite(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** A fraction as a percentage: 0.8734 -> `87.3%`. */
export function percent(value: number | null | undefined, decimals = 1): string {
  return finite(value) ? `${(value * 100).toFixed(decimals)}%` : MISSING;
}

/** A general measurement with about `digits` significant digits, no exponent for ordinary sizes. */
export function decimal(value: number | null | undefined, digits = 3): string {
  if (!finite(value)) return MISSING;
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e6 || magnitude < 1e-4) return value.toExponential(Math.max(0, digits - 1));
  return String(Number(value.toPrecision(digits)));
}

/** A count with a metric suffix: 4386816 -> `4.39M`. */
export function count(value: number | null | undefined): string {
  if (!finite(value)) return MISSING;
  const magnitude = Math.abs(value);
  for (const [size, suffix] of [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const) {
    if (magnitude >= size) return `${Number((value / size).toPrecision(3))}${suffix}`;
  }
  return String(Math.round(value));
}

/** A duration: `850 ms`, `12.3 s`, `4 min 05 s`, `1 h 02 min`. */
export function duration(seconds: number | null | undefined): string {
  if (!finite(seconds)) return MISSING;
  if (seconds < 0) return `-${duration(-seconds)}`;
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${Number(seconds.toPrecision(3))} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  return `${Math.floor(whole / 3600)} h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')} min`;
}

/** Labels for one axis: as many decimals as the tick step needs, and no more. */
export function tickFormatter(step: number, kind: 'number' | 'percent'): (value: number) => string {
  const scaled = kind === 'percent' ? step * 100 : step;
  const decimals = scaled > 0 && Number.isFinite(scaled) ? Math.min(6, Math.max(0, -Math.floor(Math.log10(scaled) + 1e-9))) : 0;
  if (kind === 'percent') return (v) => `${(v * 100).toFixed(decimals)}%`;
  return (v) => {
    const magnitude = Math.abs(v);
    if (magnitude !== 0 && (magnitude >= 1e6 || magnitude < 1e-4 || decimals > 4)) return v.toExponential(2);
    return v.toFixed(decimals);
  };
}

/** The leading characters of a content digest, enough to tell artifacts apart in a table. */
export function shortDigest(digest: string): string {
  const bare = digest.startsWith('sha256:') ? digest.slice('sha256:'.length) : digest;
  return bare.length > 12 ? bare.slice(0, 12) : bare;
}
