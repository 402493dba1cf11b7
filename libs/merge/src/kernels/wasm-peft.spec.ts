import fc from 'fast-check';
import { SeededRandom } from '@patchwork/tensor';
import { bracketWindowOf } from '../math/bracket-window';
import { rankWindowOf } from '../math/rank-window';
import { getMergeMethod } from '../methods/registry';
import { peftTensorMerge } from '../methods/peft-semantics';
import { PeftKind, peftStreaming } from '../streaming/peft-streaming';
import { mergeInChunks, withDefaults } from '../testing/chunks';
import { MergeKernels } from './merge-kernels';
import { kernelTaskSource } from './wasm-peft';

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const KINDS: PeftKind[] = ['task_arithmetic', 'magnitude_prune', 'ties', 'dare_linear', 'dare_ties'];

/** Quantised values: many exact ties at the top-k edge and exact zeros. */
function problem(seed: number, n: number, models: number) {
  const rng = new SeededRandom(seed);
  const q = (x: number) => Math.round(x * 8) / 8;
  const base = Float32Array.from({ length: n }, () => q(rng.nextGaussian()));
  return { base, models: Array.from({ length: models }, () => base.map((b) => b + q(rng.nextGaussian() / 2))) };
}

describe('SIMD merge kernels', () => {
  it('are available on this runtime', () => {
    expect(MergeKernels.get()).not.toBeNull();
  });

  it.each(KINDS)('%s: kernels, plain loops and peftTensorMerge agree bit for bit, held whole or chunked (property)', async (kind) => {
    const method = getMergeMethod(kind);
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.nat(),
          // Lengths around the kernels' vector width.
          n: fc.constantFrom(5, 37, 301),
          models: fc.integer({ min: 2, max: 4 }),
          density: fc.constantFrom(0.1, 0.5, 0.9),
          frequency: fc.boolean(),
          lambda: fc.constantFrom(1, 0.7),
          rows: fc.constantFrom(1, 3, 1_000_000),
        }),
        async ({ seed, n, models: count, density, frequency, lambda, rows }) => {
          const { base, models } = problem(seed, n, count);
          const modelParameters = models.map((_, i): Record<string, number> => (kind === 'task_arithmetic' ? { weight: 0.5 + i / 3 } : { weight: 0.5 + i / 3, density }));
          const input = withDefaults(method, base, models, modelParameters, { lambda }, { semantics: 'peft', majority_sign_method: frequency ? 'frequency' : 'total' });
          const reference = peftTensorMerge(kind, input);
          const chunkRows = rows === 1_000_000 ? rows : Math.max(rows, Math.ceil(n / 7));
          const viaKernels = await mergeInChunks(method, input, chunkRows, peftStreaming(kind));
          const viaLoops = await mergeInChunks(method, input, chunkRows, peftStreaming(kind, { kernels: false }));
          expect(bits(viaKernels.out)).toEqual(bits(reference));
          expect(bits(viaLoops.out)).toEqual(bits(reference));
        },
      ),
      { numRuns: 25 },
    );
  });

  it.each(['ties', 'dare_linear'] as PeftKind[])('%s: kernels carry window ties and draws across 65536-element blocks and chunks', async (kind) => {
    const method = getMergeMethod(kind);
    const { base, models } = problem(11, 70_001, 3);
    const modelParameters = models.map((_, i): Record<string, number> => (kind === 'task_arithmetic' ? { weight: 1 - i / 4 } : { weight: 1 - i / 4, density: 0.3 + i / 5 }));
    const input = withDefaults(method, base, models, modelParameters, { lambda: 0.8, seed: 4 }, { semantics: 'peft' });
    const loops = await mergeInChunks(method, input, 1_000_000, peftStreaming(kind, { kernels: false }));
    for (const rows of [1_000_000, 30_000]) {
      expect(bits((await mergeInChunks(method, input, rows, peftStreaming(kind))).out)).toEqual(bits(loops.out));
    }
  });

  it('compute the task vector\'s rank window exactly, block by block', () => {
    const kernels = MergeKernels.get() as MergeKernels;
    const { base, models } = problem(5, 40_003, 1);
    const tau = models[0].map((m, j) => m - base[j]);
    for (const [from, to] of [[0, 20_000], [0, 1], [2_000, 30_000], [0, 40_003]]) {
      expect(bracketWindowOf(kernelTaskSource(kernels, models[0], base), from, to)).toEqual(rankWindowOf(tau, from, to));
    }
    const withNaN = models[0].slice();
    withNaN[37_777] = NaN;
    expect(() => bracketWindowOf(kernelTaskSource(kernels, withNaN, base), 0, 1000)).toThrow(/NaN/);
  });
});
