import { ViolationCollector } from '@patchwork/errors';

/** A parsed `config.json`: arbitrary JSON, read field by field through {@link ConfigReader}. */
export type RawConfig = Readonly<Record<string, unknown>>;

/**
 * Typed, validating access to a Hugging Face `config.json`. Every problem is collected so one
 * error lists them all (`config.hidden_size: must be a positive integer; config.n_head: ...`).
 * Fields absent or `null` take the default transformers would use.
 */
export class ConfigReader {
  private readonly violations = new ViolationCollector();

  constructor(
    readonly raw: RawConfig,
    private readonly prefix = 'config',
  ) {}

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  /** The first of `keys` that is present (transformers renamed several fields across versions). */
  firstPresent(...keys: string[]): string | undefined {
    return keys.find((k) => this.has(k));
  }

  positiveInt(key: string, fallback?: number): number {
    const value = this.raw[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      this.fail(key, value === undefined ? 'is required (a positive integer)' : `must be a positive integer, got ${JSON.stringify(value)}`);
      return 1;
    }
    return value;
  }

  nonNegativeInt(key: string, fallback?: number): number {
    const value = this.raw[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      this.fail(key, value === undefined ? 'is required (a non-negative integer)' : `must be a non-negative integer, got ${JSON.stringify(value)}`);
      return 0;
    }
    return value;
  }

  /** An integer or null (token ids such as `pad_token_id` are often null). */
  optionalInt(key: string): number | undefined {
    const value = this.raw[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      this.fail(key, `must be an integer or null, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value;
  }

  positiveNumber(key: string, fallback?: number): number {
    const value = this.raw[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      this.fail(key, value === undefined ? 'is required (a positive number)' : `must be a positive finite number, got ${JSON.stringify(value)}`);
      return 1;
    }
    return value;
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.raw[key] ?? fallback;
    if (typeof value !== 'boolean') {
      this.fail(key, `must be a boolean, got ${JSON.stringify(value)}`);
      return fallback;
    }
    return value;
  }

  string(key: string, fallback?: string): string {
    const value = this.raw[key] ?? fallback;
    if (typeof value !== 'string' || value.length === 0) {
      this.fail(key, value === undefined ? 'is required (a string)' : `must be a non-empty string, got ${JSON.stringify(value)}`);
      return '';
    }
    return value;
  }

  /** A JSON object or null/absent. */
  optionalObject(key: string): RawConfig | undefined {
    const value = this.raw[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.fail(key, `must be an object or null, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value as RawConfig;
  }

  /**
   * The number of classification labels the way transformers derives it: `id2label` when present
   * (config.json stores no `num_labels` since v4), else `num_labels`, else 2.
   */
  numLabels(): number {
    const id2label = this.optionalObject('id2label');
    if (id2label !== undefined) {
      const n = Object.keys(id2label).length;
      if (n === 0) this.fail('id2label', 'must name at least one label');
      return Math.max(n, 1);
    }
    return this.positiveInt('num_labels', 2);
  }

  /** Records a violation on `key` (also for checks across several fields). */
  fail(key: string, description: string): void {
    this.violations.add(`${this.prefix}.${key}`, description);
  }

  /** Throws INVALID_ARGUMENT listing every problem found so far. */
  done(): void {
    this.violations.throwIfAny('INVALID_ARGUMENT');
  }
}
