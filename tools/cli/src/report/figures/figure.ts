/** One rendered chart: written to `figures/<file>` and shown in the report with its caption. */
export interface Figure {
  /** A fixed, safe file name (never derived from data). */
  readonly file: string;
  readonly title: string;
  readonly caption: string;
  readonly svg: string;
}

/** A finite number, or undefined for anything else (NaN, null from a JSON round trip). */
export function measured(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
