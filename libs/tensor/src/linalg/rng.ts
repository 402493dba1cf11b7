import { invalidArgument } from '@patchwork/errors';

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/**
 * A seeded, platform-independent generator (xoshiro128** over 32-bit integer arithmetic), so that
 * randomized algorithms give bit-identical sketches on every backend and machine. Not for
 * cryptography.
 */
export class SeededRandom {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spareGaussian: number | null = null;

  constructor(seed: number) {
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
      throw invalidArgument('seed', `must be a safe integer, got ${String(seed)}`);
    }
    // Spread both halves of the seed through a splitmix-style mixer: xoshiro must not start from an
    // all-zero state, and nearby seeds must give unrelated streams.
    let state = (seed % TWO_POW_32) | 0;
    const high = Math.floor(seed / TWO_POW_32) | 0;
    const next = (): number => {
      state = (state + 0x9e3779b9) | 0;
      let z = state ^ Math.imul(high, 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) | 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  /** Standard normal deviate (Box–Muller; the second value of each pair is kept for the next call). */
  nextGaussian(): number {
    if (this.spareGaussian !== null) {
      const spare = this.spareGaussian;
      this.spareGaussian = null;
      return spare;
    }
    const u1 = 1 - this.nextFloat(); // (0, 1], so the logarithm is finite
    const u2 = this.nextFloat();
    const radius = Math.sqrt(-2 * Math.log(u1));
    const angle = 2 * Math.PI * u2;
    this.spareGaussian = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  fillGaussian<T extends Float32Array | Float64Array>(out: T): T {
    for (let i = 0; i < out.length; i++) out[i] = this.nextGaussian();
    return out;
  }

  fillUniform<T extends Float32Array | Float64Array>(out: T, low = 0, high = 1): T {
    const width = high - low;
    for (let i = 0; i < out.length; i++) out[i] = low + width * this.nextFloat();
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
