import { ViolationCollector, invalidArgument } from '@patchwork/errors';
import { deriveSeed, mulberry32, shuffleInPlace } from './random';

export type SplitName = 'train' | 'validation' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'validation', 'test'];

export interface SplitFractions {
  train: number;
  validation: number;
  test: number;
}

export const DEFAULT_FRACTIONS: Readonly<SplitFractions> = Object.freeze({ train: 0.8, validation: 0.1, test: 0.1 });

export type IndexSplits = Record<SplitName, number[]>;

export interface SplitOptions {
  /** Unsigned 32-bit seed; default 0. */
  seed?: number;
  /** Shares of each split; they must sum to 1. Default 0.8 / 0.1 / 0.1. */
  fractions?: SplitFractions;
}

export function resolveSplitOptions(options: SplitOptions = {}): { seed: number; fractions: SplitFractions } {
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw invalidArgument('seed', 'expected an integer in [0, 2^32)');
  const fractions = options.fractions ?? DEFAULT_FRACTIONS;
  const v = new ViolationCollector();
  for (const name of SPLIT_NAMES) {
    const f = fractions[name];
    if (typeof f !== 'number' || !(f >= 0 && f <= 1)) v.add(`fractions.${name}`, 'expected a number in [0, 1]');
  }
  v.throwIfAny();
  const sum = fractions.train + fractions.validation + fractions.test;
  if (Math.abs(sum - 1) > 1e-9) throw invalidArgument('fractions', `must sum to 1 (they sum to ${sum})`);
  if (fractions.train === 0) throw invalidArgument('fractions.train', 'must be positive');
  return { seed, fractions: { ...fractions } };
}

/**
 * Splits indices 0..n-1 into train / validation / test, stratified by `strata`. Items sharing a
 * `groups` key (duplicates) form one unit that lands in one split; a unit belongs to the stratum of
 * its first item. Inside each stratum (visited in sorted order) the units are shuffled and the first
 * round(units * test) go to test, the next round(units * validation) to validation, the rest to
 * train. Each split is then shuffled so that strata interleave. Deterministic in (strata, groups,
 * seed, fractions, stream).
 */
export function stratifiedSplit(
  strata: readonly (string | number)[],
  options: SplitOptions,
  stream: string,
  groups?: readonly string[],
): IndexSplits {
  const { seed, fractions } = resolveSplitOptions(options);
  if (groups !== undefined && groups.length !== strata.length) {
    throw invalidArgument('groups', `expected ${strata.length} group keys, got ${groups.length}`);
  }
  const random = mulberry32(deriveSeed(seed, stream));
  const unitOf = new Map<string, number[]>();
  const byStratum = new Map<string, number[][]>();
  strata.forEach((s, i) => {
    const unitKey = groups === undefined ? `#${i}` : `=${groups[i]}`;
    const existing = unitOf.get(unitKey);
    if (existing) {
      existing.push(i);
      return;
    }
    const unit = [i];
    unitOf.set(unitKey, unit);
    const key = String(s);
    const list = byStratum.get(key);
    if (list) list.push(unit);
    else byStratum.set(key, [unit]);
  });
  const out: IndexSplits = { train: [], validation: [], test: [] };
  for (const key of [...byStratum.keys()].sort()) {
    const units = shuffleInPlace(byStratum.get(key) as number[][], random);
    const n = units.length;
    const nTest = Math.min(n, Math.round(n * fractions.test));
    const nValidation = Math.min(n - nTest, Math.round(n * fractions.validation));
    out.test.push(...units.slice(0, nTest).flat());
    out.validation.push(...units.slice(nTest, nTest + nValidation).flat());
    out.train.push(...units.slice(nTest + nValidation).flat());
  }
  for (const name of SPLIT_NAMES) shuffleInPlace(out[name], random);
  return out;
}
