import { PatchworkError } from '@patchwork/errors';
import { Prng } from '@patchwork/training';

/** Streams of the run seed used for data selection (distinct from the trainer's streams). */
export const SAMPLING_STREAMS = { cap: 101, fewShot: 102, unlabeled: 103 } as const;

/** A seeded random subset of `0..n-1` of size min(n, count), in the drawn order. */
export function randomSubset(n: number, count: number | undefined, seed: number, stream: number): number[] {
  const order = Array.from(Prng.fromSeed(seed, stream).permutation(n));
  return count === undefined || count >= n ? order : order.slice(0, count);
}

/**
 * Few-shot selection: `perClass` labelled examples of every class (seeded), and the remaining
 * indices as the unlabelled pool. A class with fewer examples is FAILED_PRECONDITION.
 */
export function fewShotSplit(labels: Int32Array, numLabels: number, perClass: number, seed: number): { labelled: number[]; rest: number[] } {
  const order = Prng.fromSeed(seed, SAMPLING_STREAMS.fewShot).permutation(labels.length);
  const taken = new Array<number>(numLabels).fill(0);
  const labelled: number[] = [];
  const rest: number[] = [];
  for (const i of order) {
    const y = labels[i];
    if (taken[y] < perClass) {
      taken[y]++;
      labelled.push(i);
    } else rest.push(i);
  }
  const short = taken.map((c, y) => [y, c]).filter(([, c]) => c < perClass);
  if (short.length > 0) {
    throw new PatchworkError('FAILED_PRECONDITION', `data.labels_per_class: the training split has fewer than ${perClass} examples of label(s) ${short.map(([y, c]) => `${y} (${c})`).join(', ')}`);
  }
  return { labelled, rest };
}
