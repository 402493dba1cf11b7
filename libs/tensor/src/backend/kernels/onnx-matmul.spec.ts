import fc from 'fast-check';
import { loadOnnxMatMul, type OnnxMatMul } from './onnx-matmul';
import { productShape } from './product-shape';

/** op(a)·op(b) in float64 with numpy broadcasting of the batch axes: the reference. */
function reference(a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], ta: boolean, tb: boolean): { shape: number[]; values: Float64Array } {
  const geo = productShape(aShape, bShape, ta, tb);
  if (geo === undefined) throw new Error('test case does not multiply');
  const { outShape, m, k, n } = geo;
  const batch = outShape.slice(0, -2);
  const values = new Float64Array(outShape.reduce((p, d) => p * d, 1));
  const offset = (shape: number[], index: number[]) => {
    const own = shape.slice(0, -2);
    let flat = 0;
    own.forEach((d, i) => (flat = flat * d + (d === 1 ? 0 : index[index.length - own.length + i])));
    return flat * shape[shape.length - 2] * shape[shape.length - 1];
  };
  const blocks = batch.reduce((p, d) => p * d, 1);
  for (let blk = 0; blk < blocks; blk++) {
    const index: number[] = [];
    let rest = blk;
    for (let i = batch.length - 1; i >= 0; i--) {
      index.unshift(rest % batch[i]);
      rest = Math.floor(rest / batch[i]);
    }
    const oa = offset(aShape, index);
    const ob = offset(bShape, index);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[oa + (ta ? p * m + i : i * k + p)] * b[ob + (tb ? j * k + p : p * n + j)];
        values[blk * m * n + i * n + j] = s;
      }
    }
  }
  return { shape: outShape, values };
}

const caseArb = fc
  .record({
    batchA: fc.constantFrom([] as number[], [3], [2, 3], [2, 1], [1, 3]),
    batchB: fc.constantFrom([] as number[], [3], [1], [2, 3], [4, 1, 1]),
    m: fc.integer({ min: 1, max: 9 }),
    k: fc.integer({ min: 1, max: 9 }),
    n: fc.integer({ min: 1, max: 9 }),
    ta: fc.boolean(),
    tb: fc.boolean(),
    seed: fc.integer({ min: 1, max: 1e6 }),
  })
  .filter(({ batchA, batchB }) => productShape([...batchA, 1, 1], [...batchB, 1, 1], false, false) !== undefined);

function values(length: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length }, () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647 - 0.5;
  });
}

describe('onnxruntime-node matmul', () => {
  let engine: OnnxMatMul;

  beforeAll(() => {
    const loaded = loadOnnxMatMul();
    if (!loaded.ok) throw new Error(`onnxruntime-node is an installed optional dependency here; it failed: ${loaded.reason}`);
    engine = loaded.engine;
  });

  it('loads once and reports its version and threads', () => {
    expect(loadOnnxMatMul()).toBe(loadOnnxMatMul());
    expect(engine.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(engine.threads).toBeGreaterThanOrEqual(1);
  });

  it('matches a float64 reference for both transpose flags and broadcast batch axes', () => {
    fc.assert(
      fc.property(caseArb, ({ batchA, batchB, m, k, n, ta, tb, seed }) => {
        const aShape = [...batchA, ...(ta ? [k, m] : [m, k])];
        const bShape = [...batchB, ...(tb ? [n, k] : [k, n])];
        const a = values(aShape.reduce((p, d) => p * d, 1), seed);
        const b = values(bShape.reduce((p, d) => p * d, 1), seed + 1);
        const want = reference(a, aShape, b, bShape, ta, tb);
        const out = new Float32Array(want.values.length).fill(Number.NaN);
        engine.run({ a, aShape, b, bShape, out, outShape: want.shape, transposeA: ta, transposeB: tb });
        want.values.forEach((w, i) => expect(Math.abs(out[i] - w)).toBeLessThanOrEqual(1e-5));
      }),
      { numRuns: 60 },
    );
  });

  it('reads and writes views of a larger buffer in place, including shared memory', () => {
    for (const Buffer of [ArrayBuffer, SharedArrayBuffer]) {
      const heap = new Float32Array(new Buffer(4 * 64));
      heap.set([1, 2, 3, 4, 5, 6], 3); // a = [[1, 2, 3], [4, 5, 6]]
      heap.set([1, 0, 0, 1, 1, 1], 17); // b = [[1, 0], [0, 1], [1, 1]]
      const out = heap.subarray(40, 44);
      engine.run({ a: heap.subarray(3, 9), aShape: [2, 3], b: heap.subarray(17, 23), bShape: [3, 2], out, outShape: [2, 2], transposeA: false, transposeB: false });
      expect(Array.from(heap.subarray(38, 46))).toEqual([0, 0, 4, 5, 10, 11, 0, 0]);
    }
  });

  it('throws onnxruntime errors rather than writing a wrong shape', () => {
    const out = new Float32Array(6);
    expect(() => engine.run({ a: new Float32Array(6), aShape: [2, 3], b: new Float32Array(6), bShape: [3, 2], out, outShape: [3, 2], transposeA: false, transposeB: false })).toThrow(/shape/);
  });
});
