import fc from 'fast-check';
import { PythonRandom } from './python-random';

/**
 * The Mersenne Twister written plainly from the reference C (unsigned words, a modulo per word),
 * as an oracle for the optimised generator: any seed, any draw count must agree bit for bit.
 */
class PlainMt {
  private readonly mt = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    const key: number[] = [];
    for (let rest = seed; rest > 0; rest = Math.floor(rest / 2 ** 32)) key.push(rest % 2 ** 32);
    if (key.length === 0) key.push(0);
    const mt = this.mt;
    mt[0] = 19650218;
    for (let i = 1; i < 624; i++) mt[i] = (Math.imul(1812433253, mt[i - 1] ^ (mt[i - 1] >>> 30)) + i) >>> 0;
    let i = 1;
    let j = 0;
    for (let k = Math.max(624, key.length); k > 0; k--) {
      mt[i] = ((mt[i] ^ Math.imul(mt[i - 1] ^ (mt[i - 1] >>> 30), 1664525)) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= 624) {
        mt[0] = mt[623];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = 623; k > 0; k--) {
      mt[i] = ((mt[i] ^ Math.imul(mt[i - 1] ^ (mt[i - 1] >>> 30), 1566083941)) - i) >>> 0;
      i++;
      if (i >= 624) {
        mt[0] = mt[623];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  next(): number {
    const mt = this.mt;
    if (this.index >= 624) {
      for (let kk = 0; kk < 624; kk++) {
        const y = (mt[kk] & 0x80000000) | (mt[(kk + 1) % 624] & 0x7fffffff);
        mt[kk] = mt[(kk + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  choice(n: number): number {
    const a = this.next() >>> 5;
    const b = this.next() >>> 6;
    return Math.floor(((a * 67108864 + b) / 9007199254740992) * n);
  }
}

// Reference values printed by CPython 3.11: random.Random(seed).random() etc.
describe('PythonRandom', () => {
  it.each([
    [0, [0.8444218515250481, 0.7579544029403025, 0.420571580830845], 1112038970],
    [1, [0.13436424411240122, 0.8474337369372327, 0.763774618976614], 1095513148],
    [7, [0.32383276483316237, 0.15084917392450192, 0.6509344730398537], 311111475],
  ])('reproduces random.Random(%i)', (seed, randoms, bits) => {
    const r = new PythonRandom(seed);
    expect([r.random(), r.random(), r.random()]).toEqual(randoms);
    expect(r.nextUint32()).toBe(bits);
  });

  it('reproduces random.choices without weights', () => {
    expect(Array.from(new PythonRandom(0).choiceIndices(10, 12))).toEqual([8, 7, 4, 2, 5, 4, 7, 3, 4, 5, 9, 5]);
    expect(Array.from(new PythonRandom(3).choiceIndices(7, 12))).toEqual([1, 3, 2, 4, 4, 0, 0, 5, 1, 1, 6, 3]);
  });

  it('seeds above 2^32 use every 32-bit word of the seed', () => {
    const big = new PythonRandom(2 ** 32 + 5).random();
    expect(big).toBe(0.15727238718789782);
  });

  it('agrees bit for bit with the plain reference generator across twists, for any seed and population', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 1, max: 0x7fffffff }), fc.integer({ min: 0, max: 1500 }), (seed, n, k) => {
        const fast = new PythonRandom(seed);
        const plain = new PlainMt(seed);
        // Interleave the three entry points so their shared position in the stream is exercised.
        expect(fast.nextUint32()).toBe(plain.next());
        expect(Array.from(fast.choiceIndices(n, k))).toEqual(Array.from({ length: k }, () => plain.choice(n)));
        expect(fast.random()).toBe((((plain.next() >>> 5) * 67108864 + (plain.next() >>> 6)) / 9007199254740992));
        expect(Array.from(fast.choiceIndices(n, 700))).toEqual(Array.from({ length: 700 }, () => plain.choice(n)));
      }),
      { numRuns: 60 },
    );
  });

  it('refuses populations and draw counts an index buffer cannot hold', () => {
    const r = new PythonRandom(0);
    expect(() => r.choiceIndices(0, 3)).toThrow(/n: must be an integer in \[1, 2\^31\)/);
    expect(() => r.choiceIndices(2 ** 31, 3)).toThrow(/n:/);
    expect(() => r.choiceIndices(5, 4, new Int32Array(3))).toThrow(/k: must be an integer in \[0, 3\]/);
  });

  it('rejects negative and fractional seeds', () => {
    expect(() => new PythonRandom(-1)).toThrow(/seed/);
    expect(() => new PythonRandom(1.5)).toThrow(/seed/);
  });
});
