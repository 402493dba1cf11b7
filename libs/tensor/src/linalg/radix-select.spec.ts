import fc from 'fast-check';
import { PatchworkError } from '@patchwork/errors';
import { kthLargestAbs, streamKthLargest, streamKthSmallest } from './radix-select';
import { SeededRandom } from './rng';
import { asyncFactory, chunked, float32Values, sortedAscending } from './testing';

async function rejection(p: Promise<unknown>): Promise<PatchworkError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PatchworkError) return e;
    throw e;
  }
  throw new Error('expected a PatchworkError');
}

describe('streaming exact selection (two-pass radix select)', () => {
  it('agrees with a full sort of the concatenated chunks for any chunking, k, order and abs', async () => {
    await fc.assert(
      fc.asyncProperty(float32Values(200), fc.array(fc.nat(), { maxLength: 6 }), fc.nat(), fc.boolean(), async (values, cuts, r, abs) => {
        const chunks = chunked(values, cuts);
        const sorted = sortedAscending(values, abs);
        const k = 1 + (r % values.length);
        expect(Object.is(await streamKthLargest(asyncFactory(chunks), k, { abs }), sorted[values.length - k])).toBe(true);
        expect(Object.is(await streamKthSmallest(chunks, k, { abs }), sorted[k - 1])).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('selects the global TIES threshold over a million values spread across chunks', async () => {
    const rng = new SeededRandom(17);
    const values = rng.fillGaussian(new Float32Array(1_000_000));
    for (let i = 0; i < 5000; i++) values[i * 97] = 0.25; // a large tie right inside one histogram bin
    const sorted = sortedAscending(values, true);
    const chunks = chunked(values, [1, 99_999, 500_000, 777_777]);
    for (const k of [1, 1000, 200_000, 999_999, 1_000_000]) {
      expect(await kthLargestAbs(() => chunks, k)).toBe(sorted[values.length - k]);
    }
  });

  it('accepts a single Float32Array, sync iterables and re-iterable objects', async () => {
    const values = new Float32Array([3, -1, 4, -1, 5, -9, 2, 6]);
    expect(await streamKthLargest(values, 2)).toBe(5);
    expect(await streamKthSmallest(new Set([values.subarray(0, 3), values.subarray(3)]), 1)).toBe(-9);
    const reiterable = { async *[Symbol.asyncIterator]() { yield values; } };
    expect(await kthLargestAbs(reiterable, 1)).toBe(9);
  });

  it('rejects NaN with its global index, and one-shot iterators, bad chunks and bad k', async () => {
    const nan = await rejection(streamKthLargest([new Float32Array(3), new Float32Array([1, NaN])], 1));
    expect(nan.code).toBe('INVALID_ARGUMENT');
    expect(nan.message).toMatch(/element 4 is NaN/);

    const generator = asyncFactory([new Float32Array([1])])();
    expect((await rejection(streamKthLargest(generator, 1))).message).toMatch(/one-shot iterator/);
    expect((await rejection(streamKthLargest([[1, 2] as unknown as Float32Array], 1))).message).toMatch(/chunk 0\]: must be a Float32Array, got Array/);
    expect((await rejection(streamKthLargest(42 as never, 1))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(streamKthLargest([new Float32Array(3)], 4))).code).toBe('OUT_OF_RANGE');
    expect((await rejection(streamKthLargest([new Float32Array(3)], 0))).code).toBe('OUT_OF_RANGE');
    expect((await rejection(streamKthLargest([], 1))).code).toBe('OUT_OF_RANGE');
  });

  it('detects a source that yields different data on the second pass', async () => {
    let pass = 0;
    const shrinking = () => [new Float32Array(pass++ === 0 ? 10 : 9)];
    expect((await rejection(streamKthLargest(shrinking, 1))).code).toBe('FAILED_PRECONDITION');
    let call = 0;
    const shifting = () => [Float32Array.from({ length: 10 }, (_, i) => (call++ < 10 ? i : i + 1000))];
    expect((await rejection(streamKthLargest(shifting, 3))).message).toMatch(/changed between the two selection passes/);
  });

  it('stops with CANCELLED when the signal aborts between chunks', async () => {
    const controller = new AbortController();
    async function* source() {
      yield new Float32Array(4);
      controller.abort();
      yield new Float32Array(4);
    }
    const e = await rejection(streamKthLargest(source, 1, { signal: controller.signal }));
    expect(e.code).toBe('CANCELLED');
  });
});
