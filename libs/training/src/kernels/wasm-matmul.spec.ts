import { initBackend, tf } from '@patchwork/tensor';
import fc from 'fast-check';
import { Prng } from '../random/prng';
import { registerWasmMatMulFastPath, unregisterWasmMatMulFastPath } from './wasm-matmul';

interface Case {
  a: number[];
  b: number[];
  ta: boolean;
  tb: boolean;
}

function operands(c: Case, seed: number): [Float32Array, Float32Array] {
  const rng = Prng.fromSeed(seed);
  const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
  return [rng.normalArray(size(c.a), 1), rng.normalArray(size(c.b), 1)];
}

async function productOn(backend: 'cpu' | 'wasm', c: Case, seed: number): Promise<{ shape: number[]; values: Float32Array; grads: Float32Array[] }> {
  await initBackend({ backend });
  const [av, bv] = operands(c, seed);
  return tf.tidy(() => {
    const a = tf.tensor(av, c.a);
    const b = tf.tensor(bv, c.b);
    const out = tf.matMul(a, b, c.ta, c.tb);
    // tfjs's own BatchMatMul gradient does not reduce broadcast batch axes, so gradients are compared without broadcasting.
    const grads = c.a.length === c.b.length ? tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, c.ta, c.tb))))([a, b]) : [];
    return { shape: out.shape, values: out.dataSync() as Float32Array, grads: grads.map((g) => g.dataSync() as Float32Array) };
  });
}

const caseArb = fc
  .record({ batch: fc.constantFrom([] as number[], [3], [2, 2]), m: fc.integer({ min: 1, max: 9 }), k: fc.integer({ min: 1, max: 9 }), n: fc.integer({ min: 1, max: 9 }), ta: fc.boolean(), tb: fc.boolean(), broadcastB: fc.boolean() })
  .map(({ batch, m, k, n, ta, tb, broadcastB }): Case => ({
    a: [...batch, ...(ta ? [k, m] : [m, k])],
    b: [...(broadcastB ? [] : batch), ...(tb ? [n, k] : [k, n])],
    ta,
    tb,
  }));

describe('wasm BatchMatMul fast path', () => {
  afterAll(() => unregisterWasmMatMulFastPath());

  it('matches the cpu kernel for every transpose combination, batch broadcasting and the gradients', async () => {
    await initBackend({ backend: 'wasm' });
    expect(registerWasmMatMulFastPath()).toBe(true);
    expect(registerWasmMatMulFastPath()).toBe(true);
    await fc.assert(
      fc.asyncProperty(caseArb, fc.integer({ min: 0, max: 1000 }), async (c, seed) => {
        const want = await productOn('cpu', c, seed);
        const got = await productOn('wasm', c, seed);
        expect(got.shape).toEqual(want.shape);
        const close = (x: Float32Array, y: Float32Array) => x.every((v, i) => Math.abs(v - y[i]) <= 1e-4 * (1 + Math.abs(y[i])));
        expect(close(got.values, want.values)).toBe(true);
        got.grads.forEach((g, i) => expect(close(g, want.grads[i])).toBe(true));
      }),
      { numRuns: 40 },
    );
  });

  it('frees its temporaries', async () => {
    await initBackend({ backend: 'wasm' });
    registerWasmMatMulFastPath();
    const a = tf.randomNormal([4, 3]);
    const b = tf.randomNormal([5, 3]);
    const c = tf.randomNormal([4, 5]);
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const ids = backend.numDataIds();
    const bytes = tf.memory().numBytes;
    tf.matMul(a, b, false, true).dispose();
    tf.matMul(a, c, true, false).dispose();
    tf.matMul(b, c, true, true).dispose();
    expect(backend.numDataIds()).toBe(ids);
    expect(tf.memory().numBytes).toBe(bytes);
    tf.dispose([a, b, c]);
  });
});
