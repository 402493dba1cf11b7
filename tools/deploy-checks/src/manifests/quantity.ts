import { PatchworkError } from '@patchwork/errors';

/** A whole-number resource quantity (GPUs are only ever whole); anything else is an error. */
export function wholeQuantity(value: unknown, where: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new PatchworkError('INVALID_ARGUMENT', `${where}: ${JSON.stringify(value)} is not a whole number`);
  return n;
}
