import * as tf from '@tensorflow/tfjs';
import { PatchworkError } from '@patchwork/errors';

/** Tensors reachable from a value (arrays, Maps, Sets, plain objects), each counted once. */
function tensorsIn(value: unknown, seen = new Set<unknown>(), found = new Set<tf.Tensor>()): Set<tf.Tensor> {
  if (value === null || typeof value !== 'object' || seen.has(value)) return found;
  seen.add(value);
  if (value instanceof tf.Tensor) {
    if (!value.isDisposed) found.add(value);
  } else if (Array.isArray(value) || value instanceof Set) {
    for (const v of value) tensorsIn(v, seen, found);
  } else if (value instanceof Map) {
    for (const v of value.values()) tensorsIn(v, seen, found);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) tensorsIn(v, seen, found);
  }
  return found;
}

/**
 * Runs `fn` and fails if it left more live tensors than it returns: tensors in the result
 * (directly, or inside arrays, Maps, Sets and plain objects) are the caller's and allowed.
 */
export async function assertNoLeaks<T>(fn: () => T | Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  const after = tf.memory().numTensors;
  const returned = tensorsIn(result).size;
  if (after - before > returned) {
    throw new PatchworkError(
      'INTERNAL',
      `tensor leak: ${after - before - returned} tensor(s) left alive (${before} before, ${after} after, ${returned} returned)`,
    );
  }
  return result;
}
