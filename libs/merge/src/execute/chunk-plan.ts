import { PatchworkError } from '@patchwork/errors';

const MiB = 1024 * 1024;
const fmt = (bytes: number) => (bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${bytes} bytes`);

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * How many elements of a tensor one chunk holds: the whole tensor when its working set fits the
 * budget (or there is none), else as many whole dim-0 rows (elements for rank <= 1), in multiples
 * of the method's `atom`, as fit. RESOURCE_EXHAUSTED, naming the tensor, when one unit alone is
 * over the budget.
 */
export function chunkElements(name: string, shape: readonly number[], atom: number, bytesPerElement: number, budget: number | undefined): number {
  const length = shape.reduce((a, b) => a * b, 1);
  if (budget === undefined || length === 0 || length * bytesPerElement <= budget) return Math.max(length, 1);
  const row = shape.length >= 2 && shape[0] > 0 ? length / shape[0] : 1;
  const unit = Math.min(length, (row / gcd(row, atom)) * atom);
  const units = Math.floor(budget / (unit * bytesPerElement));
  if (units < 1) {
    throw new PatchworkError(
      'RESOURCE_EXHAUSTED',
      `tensor ${name} [${shape.join(', ')}] cannot be merged within max memory ${fmt(budget)}: its smallest mergeable piece (${unit} elements) needs ${fmt(unit * bytesPerElement)}; raise the budget`,
      { violations: [{ field: 'maxMemoryBytes', description: `below ${unit * bytesPerElement} bytes needed by ${name}` }] },
    );
  }
  return units * unit;
}
