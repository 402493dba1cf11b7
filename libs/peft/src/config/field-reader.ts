import { PatchworkError, ViolationCollector } from '@patchwork/errors';

/**
 * Reads typed fields out of an untrusted config object (a parsed `adapter_config.json`, or the
 * options a caller passed), collecting every problem so one INVALID_ARGUMENT lists them all.
 * Keys that are read are remembered; `unread()` gives the rest (kept verbatim for round trips).
 */
export class FieldReader {
  readonly problems = new ViolationCollector();
  private readonly read = new Set<string>();

  constructor(
    private readonly raw: Readonly<Record<string, unknown>>,
    /** Prefix of field names in messages, e.g. `adapter_config.json` or `config`. */
    private readonly where: string,
  ) {}

  static of(raw: unknown, where: string): FieldReader {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new PatchworkError('INVALID_ARGUMENT', `${where} must be a JSON object`, { violations: [{ field: where, description: 'must be a JSON object' }] });
    }
    return new FieldReader(raw as Record<string, unknown>, where);
  }

  field(key: string): string {
    return `${this.where}.${key}`;
  }

  fail(key: string, description: string): void {
    this.problems.add(this.field(key), description);
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined;
  }

  /** The raw value, marked read. */
  value(key: string): unknown {
    this.read.add(key);
    return this.raw[key];
  }

  /** Keys never read, with their values. */
  unread(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.raw)) if (!this.read.has(k)) out[k] = v;
    return out;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.value(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${JSON.stringify(v)}`);
    return v === true;
  }

  number(key: string, fallback: number, check?: (n: number) => string | undefined): number {
    const v = this.value(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.fail(key, `must be a finite number, got ${JSON.stringify(v)}`);
      return fallback;
    }
    const problem = check?.(v);
    if (problem !== undefined) this.fail(key, problem);
    return v;
  }

  /** An integer >= `min`. */
  int(key: string, fallback: number, min: number): number {
    return this.number(key, fallback, (n) => (Number.isInteger(n) && n >= min ? undefined : `must be an integer >= ${min}, got ${n}`));
  }

  /** An integer >= min that must be given (no default). */
  requiredInt(key: string, min: number): number {
    if (!this.has(key)) {
      this.value(key);
      this.fail(key, 'is required');
      return min;
    }
    return this.int(key, min, min);
  }

  enumOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.value(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.fail(key, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return v as T;
  }

  optionalString(key: string): string | null {
    const v = this.value(key);
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') {
      this.fail(key, `must be a string or null, got ${JSON.stringify(v)}`);
      return null;
    }
    return v;
  }

  /** A list of strings or null; PEFT also accepts one string meaning a regex, allowed when `allowRegex`. */
  names(key: string, allowRegex: boolean): string[] | string | null {
    const v = this.value(key);
    if (v === undefined || v === null) return null;
    if (typeof v === 'string') {
      if (!allowRegex) {
        this.fail(key, 'must be a list of module names');
        return null;
      }
      if (v === '') this.fail(key, 'must not be empty');
      return v;
    }
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === '')) {
      this.fail(key, `must be ${allowRegex ? 'a regex string or ' : ''}a list of non-empty module names, got ${JSON.stringify(v)}`);
      return null;
    }
    return [...(v as string[])];
  }

  /** `{pattern: value}` with every value checked by `check` (returns a problem or undefined). */
  record<T>(key: string, check: (v: unknown) => string | undefined): Record<string, T> {
    const v = this.value(key);
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.fail(key, 'must be an object');
      return {};
    }
    const out: Record<string, T> = {};
    for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
      const problem = check(item);
      if (problem !== undefined) this.problems.add(`${this.field(key)}.${k}`, problem);
      else out[k] = item as T;
    }
    return out;
  }

  /** Raises INVALID_ARGUMENT listing every problem found so far. */
  done(): void {
    this.problems.throwIfAny('INVALID_ARGUMENT');
  }
}
