import { invalidArgument } from '@patchwork/errors';

const N = 624;
const M = 397;
const UPPER = 0x80000000 | 0;
const LOWER = 0x7fffffff;
const MATRIX_A = 0x9908b0df | 0;
/** 2^26 and 2^53: `random()` joins 27 and 26 bits into a 53-bit fraction. */
const TWO_26 = 67108864;
const TWO_53 = 9007199254740992;

/**
 * The Mersenne Twister exactly as CPython's `random.Random` runs it: `seed(n)` for a non-negative
 * integer below 2^53 (init_by_array over its 32-bit words), `random()` with 53 bits, and
 * `choices(xs, k)` without weights. Bit-for-bit agreement with Python is what lets a bootstrap
 * standard error here equal lm-evaluation-harness's for the same items.
 *
 * The bootstrap draws 2·n·iters words (2·10^9 for 10 000 documents), so the hot paths are written
 * for V8: the state is an Int32Array (words stay small integers instead of heap doubles), the
 * twist runs without a modulo per word, and `choiceIndices` inlines tempering.
 */
export class PythonRandom {
  private readonly mt = new Int32Array(N);
  private index = N + 1;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw invalidArgument('seed', `must be a non-negative safe integer, got ${seed}`);
    const key: number[] = [];
    for (let rest = seed; rest > 0; rest = Math.floor(rest / 2 ** 32)) key.push(rest % 2 ** 32);
    if (key.length === 0) key.push(0);
    this.initByArray(key);
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = Math.imul(1812433253, prev) + i;
    }
    this.index = N;
  }

  private initByArray(key: readonly number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      // Sums run in doubles; storing into the Int32Array keeps them modulo 2^32, as C's uint32 does.
      mt[i] = (mt[i] ^ Math.imul(prev, 1664525)) + key[j] + j;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (mt[i] ^ Math.imul(prev, 1566083941)) - i;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = UPPER;
  }

  /** Regenerates all N words in place; words past kk + M wrap to ones already regenerated, as in C. */
  private twist(): void {
    const mt = this.mt;
    let kk = 0;
    let y: number;
    for (; kk < N - M; kk++) {
      y = (mt[kk] & UPPER) | (mt[kk + 1] & LOWER);
      mt[kk] = mt[kk + M] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    }
    for (; kk < N - 1; kk++) {
      y = (mt[kk] & UPPER) | (mt[kk + 1] & LOWER);
      mt[kk] = mt[kk + M - N] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    }
    y = (mt[N - 1] & UPPER) | (mt[0] & LOWER);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    this.index = 0;
  }

  /** One tempered 32-bit output (`genrand_uint32`). */
  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A double in [0, 1) with 53 random bits (`random.random()`). */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * TWO_26 + b) / TWO_53;
  }

  /** `k` indices drawn uniformly with replacement from [0, n), as `random.choices(range(n), k=k)`. */
  choiceIndices(n: number, k: number, out: Int32Array = new Int32Array(k)): Int32Array {
    if (!Number.isInteger(n) || n < 1 || n > 0x7fffffff) throw invalidArgument('n', `must be an integer in [1, 2^31), got ${n}`);
    if (!Number.isInteger(k) || k < 0 || k > out.length) throw invalidArgument('k', `must be an integer in [0, ${out.length}], got ${k}`);
    const mt = this.mt;
    let index = this.index;
    // random() * n is round(x / 2^53 * n) for the 53-bit integer x; scaling by a power of two is
    // exact, so x * (n / 2^53) rounds the same real number once and gives the same double.
    const scale = n / TWO_53;
    for (let i = 0; i < k; i++) {
      if (index >= N) {
        this.twist();
        index = 0;
      }
      let a = mt[index++];
      a ^= a >>> 11;
      a ^= (a << 7) & 0x9d2c5680;
      a ^= (a << 15) & 0xefc60000;
      a ^= a >>> 18;
      if (index >= N) {
        this.twist();
        index = 0;
      }
      let b = mt[index++];
      b ^= b >>> 11;
      b ^= (b << 7) & 0x9d2c5680;
      b ^= (b << 15) & 0xefc60000;
      b ^= b >>> 18;
      // floor(random() * n), as CPython's choices; the product is below 2^31, so `| 0` is floor.
      out[i] = ((a >>> 5) * TWO_26 + (b >>> 6)) * scale | 0;
    }
    this.index = index;
    return out;
  }
}
