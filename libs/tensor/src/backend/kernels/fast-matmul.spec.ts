import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { backendInfo, initBackend } from '../init';
import { installFastMatMul, restoreMatMul, type FastMatMulOptions } from './fast-matmul';
import { loadOnnxMatMul } from './onnx-matmul';

interface Case {
  aShape: number[];
  bShape: number[];
  ta: boolean;
  tb: boolean;
  seed: number;
}

interface Result {
  shape: number[];
  values: Float32Array;
  grads: Float32Array[];
}

/** The backend's own kernels (cpu is the reference) or a fast-kernel configuration. */
type Setup = { backend: 'cpu' | 'wasm'; fast?: FastMatMulOptions };

async function use({ backend, fast }: Setup): Promise<void> {
  await initBackend({ backend, fastKernels: fast !== undefined });
  if (fast !== undefined) installFastMatMul(backend, fast);
}

/** The product, and when no batch axis broadcasts, the gradients of sum(C²) through tf.grads. */
async function product(setup: Setup, c: Case): Promise<Result> {
  await use(setup);
  return tf.tidy(() => {
    const a = tf.randomNormal(c.aShape, 0, 1, 'float32', c.seed);
    const b = tf.randomNormal(c.bShape, 0, 1, 'float32', c.seed + 1);
    const out = tf.matMul(a, b, c.ta, c.tb);
    // tfjs's BatchMatMul gradient does not sum over broadcast batch axes (on any backend).
    const sameBatch = c.aShape.slice(0, -2).join() === c.bShape.slice(0, -2).join();
    const grads = sameBatch ? tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, c.ta, c.tb))))([a, b]) : [];
    return { shape: out.shape, values: out.dataSync() as Float32Array, grads: grads.map((g) => g.dataSync() as Float32Array) };
  });
}

/** Largest difference relative to the reference's largest magnitude (float32 summation order differs). */
function relativeError(got: Float32Array, want: Float32Array): number {
  let diff = 0;
  let scale = 0;
  want.forEach((w, i) => {
    diff = Math.max(diff, Math.abs(got[i] - w));
    scale = Math.max(scale, Math.abs(w));
  });
  return scale === 0 ? diff : diff / scale;
}

function expectClose(got: Result, want: Result): void {
  expect(got.shape).toEqual(want.shape);
  expect(relativeError(got.values, want.values)).toBeLessThanOrEqual(1e-4);
  expect(got.grads.length).toBe(want.grads.length);
  got.grads.forEach((g, i) => expect(relativeError(g, want.grads[i])).toBeLessThanOrEqual(1e-4));
}

// Batch shapes tfjs's own kernels support: equal, or one side without batch axes.
const caseArb = fc
  .record({
    batch: fc.constantFrom([] as number[], [3], [2, 2]),
    broadcast: fc.constantFrom('none', 'a', 'b'),
    m: fc.integer({ min: 1, max: 12 }),
    k: fc.integer({ min: 1, max: 12 }),
    n: fc.integer({ min: 1, max: 12 }),
    ta: fc.boolean(),
    tb: fc.boolean(),
    // tfjs treats seed 0 as "no seed".
    seed: fc.integer({ min: 1, max: 10_000 }),
  })
  .map(({ batch, broadcast, m, k, n, ta, tb, seed }): Case => ({
    aShape: [...(broadcast === 'a' ? [] : batch), ...(ta ? [k, m] : [m, k])],
    bShape: [...(broadcast === 'b' ? [] : batch), ...(tb ? [n, k] : [k, n])],
    ta,
    tb,
    seed,
  }));

const REFERENCE: Setup = { backend: 'cpu' };
const WASM_TRANSPOSES: Setup = { backend: 'wasm', fast: { onnx: false } };
const WASM_ONNX: Setup = { backend: 'wasm', fast: { onnxMinMacs: 0 } };
const CPU_ONNX: Setup = { backend: 'cpu', fast: { onnxMinMacs: 0 } };

describe('fast BatchMatMul kernels', () => {
  afterAll(async () => {
    restoreMatMul('cpu');
    restoreMatMul('wasm');
    await initBackend({ backend: 'cpu' });
  });

  it('onnxruntime-node is available on this machine (else the onnx cases would test nothing)', () => {
    expect(loadOnnxMatMul()).toMatchObject({ ok: true });
  });

  it.each([
    ['wasm with materialised transposes', WASM_TRANSPOSES],
    ['wasm through onnxruntime', WASM_ONNX],
    ['cpu through onnxruntime', CPU_ONNX],
  ])('%s matches the cpu reference kernel, gradients included', async (_name, setup) => {
    const onnx = loadOnnxMatMul();
    if (!onnx.ok) throw new Error(onnx.reason);
    const run = jest.spyOn(onnx.engine, 'run');
    try {
      await fc.assert(
        fc.asyncProperty(caseArb, async (c) => {
          const want = await product(REFERENCE, c);
          expectClose(await product(setup, c), want);
        }),
        { numRuns: 25 },
      );
      // Proof that the path under test computed the products (a silent fallback would pass).
      if (setup.fast?.onnx === false) expect(run).not.toHaveBeenCalled();
      else expect(run.mock.calls.length).toBeGreaterThanOrEqual(25);
    } finally {
      run.mockRestore();
    }
  });

  it('sends products at or above the threshold to onnxruntime and the rest to the wasm kernel', async () => {
    const engine = loadOnnxMatMul();
    if (!engine.ok) throw new Error(engine.reason);
    const run = jest.spyOn(engine.engine, 'run');
    try {
      const c = { aShape: [4, 5], bShape: [6, 5], ta: false, tb: true, seed: 3 };
      const big = await product({ backend: 'wasm', fast: { onnxMinMacs: 4 * 5 * 6 } }, c);
      expect(run).toHaveBeenCalledTimes(4); // the product, again inside tf.grads, and its two gradient products
      run.mockClear();
      const small = await product({ backend: 'wasm', fast: { onnxMinMacs: 4 * 5 * 6 + 1 } }, c);
      expect(run).not.toHaveBeenCalled();
      expectClose(big, await product(REFERENCE, c));
      expectClose(small, await product(REFERENCE, c));
    } finally {
      run.mockRestore();
    }
  });

  it('agrees with the reference on a product above the default threshold, with batch broadcasting', async () => {
    const c = { aShape: [2, 96, 160], bShape: [96, 144], ta: true, tb: false, seed: 11 };
    const want = await product(REFERENCE, c);
    const fast = await product({ backend: 'wasm', fast: {} }, c);
    expectClose(fast, want);
    expect(backendInfo().kernels).toMatch(/onnxruntime-node \d/);
  });

  it('frees every temporary on both paths', async () => {
    for (const setup of [WASM_TRANSPOSES, WASM_ONNX]) {
      await use(setup);
      const a = tf.randomNormal([3, 4, 5]);
      const b = tf.randomNormal([6, 5]);
      const c = tf.randomNormal([3, 5, 4]);
      const backend = tf.backend() as unknown as { numDataIds(): number };
      const ids = backend.numDataIds();
      const bytes = tf.memory().numBytes;
      tf.matMul(a, b, false, true).dispose();
      tf.matMul(a, a, true, false).dispose();
      tf.matMul(a, c, true, true).dispose();
      expect(backend.numDataIds()).toBe(ids);
      expect(tf.memory().numBytes).toBe(bytes);
      tf.dispose([a, b, c]);
    }
  });

  it('keeps tfjs errors and non-float products with the backend kernel', async () => {
    await use(WASM_ONNX);
    expect(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 5]))).toThrow(/inner shapes \(3\) and \(4\)/);
    expect(() => tf.matMul(tf.ones([2, 3], 'int32'), tf.ones([3, 2], 'int32'))).toThrow(/non-float32/);
    const empty = tf.matMul(tf.ones([0, 3]), tf.ones([3, 2]), false, false);
    expect(empty.shape).toEqual([0, 2]);
    empty.dispose();
  });

  it('falls back to the backend kernel when onnxruntime fails, and says why once', async () => {
    const engine = loadOnnxMatMul();
    if (!engine.ok) throw new Error(engine.reason);
    const run = jest.spyOn(engine.engine, 'run').mockImplementation(() => {
      throw new Error('simulated failure');
    });
    const told: string[] = [];
    try {
      await initBackend({ backend: 'wasm' });
      installFastMatMul('wasm', { onnxMinMacs: 0, onFallback: (reason) => told.push(reason) });
      for (let i = 0; i < 2; i++) {
        const x = tf.tidy(() => tf.matMul(tf.ones([3, 4]), tf.ones([4, 5]), false, false));
        expect(Array.from(x.dataSync())).toEqual(new Array(15).fill(4));
        x.dispose();
      }
      expect(run).toHaveBeenCalledTimes(1);
      expect(backendInfo().kernels).toBe('BatchMatMul: transposed operands materialised; wasm kernel for every product (' + told[0] + ')');
    } finally {
      run.mockRestore();
    }
    expect(told).toEqual(['onnxruntime-node failed on a [3,4] x [4,5] product (simulated failure); the wasm kernel computes every product from now on']);
    // The next initialisation tries onnxruntime again.
    expect((await initBackend({ backend: 'wasm' })).kernels).toMatch(/on onnxruntime-node/);
  });

  it('is opt-out through initBackend, which restores the backend kernel', async () => {
    const plain = await initBackend({ backend: 'wasm', fastKernels: false });
    expect(plain.kernels).toBeUndefined();
    const own = tf.getKernel(tf.BatchMatMul, 'wasm');
    const fast = await initBackend({ backend: 'wasm' });
    expect(fast.kernels).toMatch(/^BatchMatMul: transposed operands materialised; products of >= \d+³ multiply-adds on onnxruntime-node \d/);
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')).not.toBe(own);
    await initBackend({ backend: 'wasm', fastKernels: false });
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')).toBe(own);
    expect(backendInfo().kernels).toBeUndefined();
    expect((await initBackend({ backend: 'cpu' })).kernels).toBeUndefined();
    expect((await initBackend({ backend: 'cpu', fastKernels: true })).kernels).toMatch(/^BatchMatMul: products of >= 8³ multiply-adds on onnxruntime-node/);
    await expect(initBackend({ backend: 'wasm', fastKernels: 'yes' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'fastKernels must be a boolean, got "yes"' });
    expect(() => installFastMatMul('wasm', { onnxMinMacs: -1 })).toThrow('onnxMinMacs must be a non-negative integer or Infinity, got -1');
  });
});
