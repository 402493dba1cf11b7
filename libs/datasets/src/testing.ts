import type { Split } from './tasks/types';

/** Share of each label in a split. */
export function labelShares(split: Split<unknown>, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const y of split.labels) counts[y]++;
  return counts.map((c) => c / Math.max(1, split.labels.length));
}

export function intersect(a: readonly string[], b: readonly string[]): string[] {
  const set = new Set(b);
  return a.filter((x) => set.has(x));
}
