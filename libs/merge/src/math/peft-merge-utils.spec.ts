import * as path from 'node:path';
import fc from 'fast-check';
import { PEER_FIXTURES, maxAbsDiff, readAll } from '../testing/fixtures';
import { calculateMajoritySignMask, dareLinear, dareTies, magnitudeBasedPruning, magnitudePrune, prune, taskArithmetic, ties } from './peft-merge-utils';
import { streamKey, uniformAt } from './random';

const FIXTURE = path.join(PEER_FIXTURES, 'merges/peft_merge_utils.safetensors');

describe('PEFT merge_utils conformance (fixtures/peer/merges/peft_merge_utils)', () => {
  let tasks: Float32Array[];
  let weights: number[];
  let expected: Map<string, { values: Float32Array }>;
  const errors: Record<string, number> = {};

  beforeAll(async () => {
    expected = await readAll(FIXTURE);
    tasks = [0, 1, 2, 3].map((i) => (expected.get(`task.${i}`) as { values: Float32Array }).values);
    weights = Array.from((expected.get('weights') as { values: Float32Array }).values);
  });
  afterAll(() => {
    // The measured errors, for the record of what matched.
    process.stdout.write(`peft merge_utils max abs errors: ${JSON.stringify(errors)}\n`);
  });

  const check = (name: string, actual: Float32Array) => {
    const err = maxAbsDiff(actual, (expected.get(name) as { values: Float32Array }).values);
    errors[name] = err;
    expect(err).toBeLessThanOrEqual(1e-6);
  };

  it('task_arithmetic', () => check('task_arithmetic', taskArithmetic(tasks, weights)));
  it.each([0.2, 0.5])('magnitude_prune density %s', (d) => check(`magnitude_prune.d${d}`, magnitudePrune(tasks, weights, d)));
  it.each([
    [0.2, 'total'],
    [0.2, 'frequency'],
    [0.5, 'total'],
    [0.5, 'frequency'],
  ] as const)('ties density %s, majority sign by %s', (d, method) => check(`ties.d${d}.${method}`, ties(tasks, weights, d, method)));
});

const task = (n: number) => fc.float32Array({ minLength: n, maxLength: n, noNaN: true, noDefaultInfinity: true, min: -100, max: 100 });

describe('PEFT merge_utils properties', () => {
  it('magnitude pruning keeps exactly int(density·n) elements, the largest ones', () => {
    fc.assert(
      fc.property(task(40), fc.double({ min: 0, max: 0.999, noNaN: true }), (t, d) => {
        const out = magnitudeBasedPruning(t, d);
        const k = Math.trunc(d * t.length);
        const nonZeroKept = Array.from(out).filter((x) => x !== 0).length;
        expect(nonZeroKept).toBe(Math.min(k, Array.from(t).filter((x) => x !== 0).length));
        const smallestKept = Math.min(...Array.from(out).filter((x) => x !== 0).map(Math.abs));
        const largestDropped = Math.max(0, ...Array.from(t).filter((x, i) => out[i] === 0 && x !== 0).map(Math.abs));
        if (nonZeroKept > 0) expect(smallestKept).toBeGreaterThanOrEqual(largestDropped);
      }),
    );
  });

  it('ties of a single task is its trimmed task times the weight', () => {
    fc.assert(
      fc.property(task(30), fc.double({ min: 0.05, max: 1, noNaN: true }), fc.double({ min: 0.1, max: 3, noNaN: true }), (t, d, w) => {
        const merged = ties([t], [w], d);
        const trimmed = prune(t, d, 'magnitude');
        merged.forEach((v, i) => expect(v + 0).toBe(Math.fround(trimmed[i] * Math.fround(w)) + 0)); // +0 folds -0
      }),
    );
  });

  it('dare with density 1 is task arithmetic', () => {
    const uniform = (i: number, j: number) => uniformAt(streamKey(7, 'x', i), j);
    fc.assert(
      fc.property(task(20), task(20), (a, b) => {
        expect(Array.from(dareLinear([a, b], [0.3, 0.9], 1, uniform))).toEqual(Array.from(taskArithmetic([a, b], [0.3, 0.9])));
      }),
    );
  });

  it('dare keeps about density of the elements, rescaled by 1/density, and is reproducible', () => {
    const t = new Float32Array(20000).fill(1);
    const uniform = (i: number, j: number) => uniformAt(streamKey(3, 'w', i), j);
    const out = dareLinear([t], [1], 0.25, uniform);
    const kept = out.filter((x) => x !== 0);
    expect(kept.length / t.length).toBeGreaterThan(0.23);
    expect(kept.length / t.length).toBeLessThan(0.27);
    expect(kept.every((x) => x === 4)).toBe(true);
    expect(Array.from(dareLinear([t], [1], 0.25, uniform))).toEqual(Array.from(out));
    const tiesOut = dareTies([t, t], [1, 1], 0.25, 'total', uniform);
    expect(tiesOut.every((x) => x === 0 || x === 4)).toBe(true);
  });

  it('majority sign: a zero total elects +, and zeros never agree', () => {
    const masks = calculateMajoritySignMask([Float32Array.of(1, 0, -2), Float32Array.of(-1, 0, 1)], 'total');
    // Element 0 sums to 0 and elects +; element 2 sums to -1 and elects -.
    expect(Array.from(masks[0])).toEqual([1, 0, 1]);
    expect(Array.from(masks[1])).toEqual([0, 0, 0]);
    const byCount = calculateMajoritySignMask([Float32Array.of(-5), Float32Array.of(1), Float32Array.of(1)], 'frequency');
    expect(byCount.map((m) => m[0])).toEqual([0, 1, 1]);
  });

  it('refuses a negative density and mismatched inputs', () => {
    expect(() => prune(Float32Array.of(1), -0.1, 'magnitude')).toThrow(/density/);
    expect(() => taskArithmetic([Float32Array.of(1), Float32Array.of(1, 2)], [1, 1])).toThrow(/tasks\[1\]/);
    expect(() => taskArithmetic([Float32Array.of(1)], [1, 1])).toThrow(/weights/);
  });
});
