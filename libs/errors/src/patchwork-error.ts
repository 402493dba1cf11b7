import { ErrorCode, isErrorCode, isRetryableCode } from './codes';

/** A field-level problem, named by a dotted path into the request or config (`models[1].weight`). */
export interface FieldViolation {
  field: string;
  description: string;
}

export interface PatchworkErrorOptions {
  violations?: FieldViolation[];
  cause?: unknown;
  /** Overrides the code's default retryability (a flaky dependency reported as INTERNAL, say). */
  retryable?: boolean;
}

const BRAND = Symbol.for('patchwork.PatchworkError');

function isErrorLike(value: unknown): value is Error {
  return value instanceof Error || (typeof value === 'object' && value !== null && typeof (value as Error).message === 'string' && typeof (value as Error).name === 'string');
}

/**
 * The one error class of Patchwork. `instanceof` is made to work across duplicated module copies
 * (Jest module registries, bundles) through a global symbol brand.
 */
export class PatchworkError extends Error {
  readonly code: ErrorCode;
  readonly violations: FieldViolation[];
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: PatchworkErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PatchworkError';
    this.code = code;
    this.violations = options.violations ?? [];
    this.retryable = options.retryable ?? isRetryableCode(code);
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** Normalises anything thrown into a PatchworkError, keeping the original as `cause`. */
  static from(value: unknown): PatchworkError {
    if (value instanceof PatchworkError) return value;
    // Duck-typed: errors from another realm (Node's fs errors inside Jest's VM) fail `instanceof Error`.
    if (isErrorLike(value)) {
      if (value.name === 'AbortError') return new PatchworkError('CANCELLED', value.message || 'operation cancelled', { cause: value });
      const code = (value as { code?: unknown }).code;
      if (code === 'ENOENT') return new PatchworkError('NOT_FOUND', value.message, { cause: value });
      if (code === 'ENOSPC') return new PatchworkError('RESOURCE_EXHAUSTED', value.message, { cause: value });
      if (isErrorCode(code)) return new PatchworkError(code, value.message, { cause: value });
      return new PatchworkError('INTERNAL', value.message, { cause: value });
    }
    return new PatchworkError('INTERNAL', String(value));
  }

  toJSON(): { code: ErrorCode; message: string; violations: FieldViolation[] } {
    return { code: this.code, message: this.message, violations: this.violations };
  }
}

/** Shorthand for the most common error: a bad input field. */
export function invalidArgument(field: string, description: string): PatchworkError {
  return new PatchworkError('INVALID_ARGUMENT', `${field}: ${description}`, { violations: [{ field, description }] });
}

/** Collects several field problems so a request or config reports them all at once. */
export class ViolationCollector {
  private readonly violations: FieldViolation[] = [];

  add(field: string, description: string): void {
    this.violations.push({ field, description });
  }

  get size(): number {
    return this.violations.length;
  }

  throwIfAny(code: ErrorCode = 'INVALID_ARGUMENT'): void {
    if (this.violations.length === 0) return;
    const message = this.violations.map((v) => `${v.field}: ${v.description}`).join('; ');
    throw new PatchworkError(code, message, { violations: [...this.violations] });
  }
}
