import { PatchworkError, invalidArgument } from '@patchwork/errors';

/** Dense real matrices enter linalg as row-major typed arrays; computation always happens in Float64. */
export type RealArray = Float32Array | Float64Array;

export function assertDimension(value: unknown, field: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw invalidArgument(field, `must be a positive integer, got ${String(value)}`);
  }
}

/**
 * Checks a row-major m x n matrix: shape, element type and finiteness. Non-finite entries are
 * rejected up front because a single NaN silently poisons every factor of a decomposition.
 */
export function assertMatrix(data: unknown, m: unknown, n: unknown, field: string): asserts data is RealArray {
  assertDimension(m, `${field}.rows`);
  assertDimension(n, `${field}.columns`);
  if (!(data instanceof Float32Array || data instanceof Float64Array)) {
    throw invalidArgument(field, 'must be a Float32Array or Float64Array (row-major)');
  }
  if (data.length !== m * n) {
    throw invalidArgument(field, `has ${data.length} elements but rows x columns = ${m} x ${n} = ${m * n}`);
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw invalidArgument(field, `entry (${Math.floor(i / n)}, ${i % n}) is ${data[i]}; only finite values are allowed`);
    }
  }
}

/** A count-like option such as a rank: an integer within [min, max]; OUT_OF_RANGE otherwise. */
export function assertIntegerInRange(value: unknown, min: number, max: number, field: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw invalidArgument(field, `must be an integer, got ${String(value)}`);
  }
  if (value < min || value > max) {
    throw new PatchworkError('OUT_OF_RANGE', `${field}: must be within [${min}, ${max}], got ${value}`, {
      violations: [{ field, description: `must be within [${min}, ${max}]` }],
    });
  }
}

/** The cancellation contract shared by the long-running, streaming routines. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new PatchworkError('CANCELLED', 'linalg: operation cancelled', { cause: signal.reason });
  }
}
