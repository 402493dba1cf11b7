import * as tf from '@tensorflow/tfjs';
import { PatchworkError } from '@patchwork/errors';

/**
 * Past ~4 GiB the wasm heap does not fail cleanly: allocations return corrupt memory, then the
 * module aborts or spins (TOOLCHAIN.md). 3.5 GiB leaves room for the kernels' scratch space.
 */
export const WASM_MEMORY_BUDGET_BYTES = 3.5 * 1024 ** 3;

const GiB = 1024 ** 3;
const fmt = (bytes: number): string =>
  bytes >= 0.1 * GiB ? `${(bytes / GiB).toFixed(2)} GiB` : bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MiB` : `${bytes} bytes`;

/**
 * Throws RESOURCE_EXHAUSTED when allocating `bytesNeeded` more would take live tensor memory
 * (`tf.memory().numBytes`) past the budget. Without an explicit budget only the wasm backend is
 * checked (its heap is the one with a hard ceiling); with one, every backend is.
 */
export function ensureMemoryBudget(bytesNeeded: number, budgetBytes?: number): void {
  if (!Number.isFinite(bytesNeeded) || bytesNeeded < 0) {
    throw new PatchworkError('INVALID_ARGUMENT', `bytesNeeded must be a finite non-negative number, got ${bytesNeeded}`);
  }
  if (budgetBytes !== undefined && (!Number.isFinite(budgetBytes) || budgetBytes <= 0)) {
    throw new PatchworkError('INVALID_ARGUMENT', `budgetBytes must be a finite positive number, got ${budgetBytes}`);
  }
  const backend = tf.getBackend();
  if (budgetBytes === undefined && backend !== 'wasm') return;
  const budget = budgetBytes ?? WASM_MEMORY_BUDGET_BYTES;
  const inUse = tf.memory().numBytes;
  if (inUse + bytesNeeded > budget) {
    throw new PatchworkError(
      'RESOURCE_EXHAUSTED',
      `${backend} tensor memory: ${fmt(inUse)} in use + ${fmt(bytesNeeded)} requested exceeds the ${fmt(budget)} budget; process the data in smaller pieces`,
    );
  }
}
