import { PythonRandom } from './python-random';

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

  it('rejects negative and fractional seeds', () => {
    expect(() => new PythonRandom(-1)).toThrow(/seed/);
    expect(() => new PythonRandom(1.5)).toThrow(/seed/);
  });
});
