import { PatchworkError, invalidArgument } from '@patchwork/errors';

const MASK64 = (1n << 64n) - 1n;
const TWO_POW_32 = 2 ** 32;
const TWO_POW_53 = 2 ** 53;

/** The full state of a {@link Prng}: four unsigned 32-bit words, never all zero. */
export type PrngState = readonly [number, number, number, number];

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * SplitMix64 (Steele, Lea, Flood 2014), used only to expand a seed into generator state, as the
 * xoshiro authors recommend. BigInt keeps it exact; it runs four times per generator.
 */
export function splitMix64(state: bigint): { value: bigint; next: bigint } {
  const next = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return { value: z ^ (z >> 31n), next };
}

function checkUint32(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= TWO_POW_32) throw invalidArgument(field, `must be an integer in [0, 2^32), got ${value}`);
}

/**
 * The one pseudo-random generator of the training stack: xoshiro128** 1.1 (Blackman & Vigna,
 * https://prng.di.unimi.it/xoshiro128starstar.c). Pure integer arithmetic, so every platform and
 * tfjs backend sees the same sequence, and its state is four words that a checkpoint can store.
 *
 * Seeding: `fromSeed(seed, stream)` runs SplitMix64 from `seed * 2^32 + stream` and takes the low
 * and high halves of two outputs as s0..s3. Distinct streams of one seed are independent
 * sequences (data order, masking, initialisation) that do not shift when another stream is drawn
 * from more or less often.
 */
export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(state: PrngState) {
    [this.s0, this.s1, this.s2, this.s3] = state;
  }

  static fromSeed(seed: number, stream = 0): Prng {
    checkUint32('seed', seed);
    checkUint32('stream', stream);
    let x = (BigInt(seed) << 32n) | BigInt(stream);
    const words: number[] = [];
    for (let i = 0; i < 2; i++) {
      const r = splitMix64(x);
      x = r.next;
      words.push(Number(r.value & 0xffffffffn), Number(r.value >> 32n));
    }
    // SplitMix64 is a bijection of its counter, so two consecutive zero outputs cannot occur; kept
    // as a guard because an all-zero xoshiro state would emit zeros forever.
    if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1;
    return new Prng(words as unknown as PrngState);
  }

  /** Restores a generator from {@link state} (e.g. read back from a checkpoint). */
  static fromState(state: readonly number[]): Prng {
    if (!Array.isArray(state) || state.length !== 4) throw invalidArgument('prngState', 'must be an array of four 32-bit words');
    state.forEach((w, i) => checkUint32(`prngState[${i}]`, w));
    if (state.every((w) => w === 0)) throw invalidArgument('prngState', 'must not be all zero');
    return new Prng([state[0], state[1], state[2], state[3]]);
  }

  get state(): PrngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  clone(): Prng {
    return new Prng(this.state);
  }

  /** The next output, an integer in [0, 2^32). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A double in [0, 1) with 53 random bits (two outputs). */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 2 ** 26 + lo) / TWO_POW_53;
  }

  /** An integer uniform in [0, n), without modulo bias (rejection sampling); 1 <= n <= 2^32. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) throw invalidArgument('n', `must be an integer in [1, 2^32], got ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const u = this.nextUint32();
      if (u < limit) return u % n;
    }
  }

  /** A standard normal draw (Box-Muller, cosine branch only, so each draw costs exactly four outputs). */
  nextNormal(): number {
    const u1 = this.nextFloat();
    const u2 = this.nextFloat();
    return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Shuffles `values` in place (Fisher-Yates, from the last index down) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(values: T): T {
    for (let i = values.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = values[i];
      values[i] = values[j];
      values[j] = tmp;
    }
    return values;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0) throw invalidArgument('n', `must be a non-negative integer, got ${n}`);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    return this.shuffle(out);
  }

  /** `count` values from N(0, std^2) as float32 (weight initialisation). */
  normalArray(count: number, std: number): Float32Array {
    if (!(std >= 0) || !Number.isFinite(std)) throw new PatchworkError('INVALID_ARGUMENT', `std must be a finite non-negative number, got ${std}`);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.nextNormal() * std;
    return out;
  }
}
