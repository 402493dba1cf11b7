import type { OnnxMatMul } from './onnx-matmul';
import { productShape, type ProductShape } from './product-shape';

/** What a BatchMatMul kernel consults on every call, so that options change without re-registering. */
export interface MatMulRouting {
  /** wasm: multiply transposed operands by materialising the transpose first. */
  transposeOperands: boolean;
  /** Present while onnxruntime-node is available and enabled. */
  onnx?: OnnxMatMul;
  /** Products with at least this many multiply-adds go to `onnx`. */
  onnxMinMacs: number;
  /** Called once onnxruntime fails on a product; the caller stops routing to it. */
  onnxFailed(reason: string): void;
}

interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}

interface MatMulArgs<B> {
  inputs: { a: TensorInfo; b: TensorInfo };
  backend: B;
  attrs: { transposeA: boolean; transposeB: boolean };
}

/** The parts of tfjs-backend-wasm's BackendWasm used here. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): ArrayLike<number>;
  disposeData(dataId: object): void;
}

/** The parts of tfjs-backend-cpu's MathBackendCPU used here. */
interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TensorInfo;
}

/** A tfjs kernel function, as this module calls it. */
export type Base = (args: unknown) => TensorInfo;

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

function onnxFailure(kernel: string, a: TensorInfo, b: TensorInfo, e: unknown): string {
  return `onnxruntime-node failed on a [${a.shape}] x [${b.shape}] product (${firstLine(e)}); the ${kernel} kernel computes every product from now on`;
}

/** The product to route to onnxruntime, or undefined where the backend's own kernel should run. */
function largeProduct(routing: MatMulRouting, args: MatMulArgs<unknown>): ProductShape | undefined {
  const { a, b } = args.inputs;
  if (routing.onnx === undefined || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const shape = productShape(a.shape, b.shape, args.attrs.transposeA, args.attrs.transposeB);
  return shape !== undefined && shape.macs > 0 && shape.macs >= routing.onnxMinMacs ? shape : undefined;
}

function swapLastTwo(x: TensorInfo, backend: WasmBackend, transpose: Base): TensorInfo {
  const rank = x.shape.length;
  const perm = x.shape.map((_, i) => (i === rank - 2 ? rank - 1 : i === rank - 1 ? rank - 2 : i));
  return transpose({ inputs: { x }, backend, attrs: { perm } });
}

/**
 * BatchMatMul for tfjs-backend-wasm. Its own kernel (4.22) runs XNNPACK only when neither operand
 * is transposed; a transposed operand takes a scalar loop 15-70x slower, and every backward pass
 * of a product needs both transposed forms. So a transposed operand is first materialised by the
 * wasm Transpose kernel (memory-bound, cheap next to the product) and the plain kernel multiplies.
 * Products large enough to repay a call into onnxruntime go there instead, reading the operands
 * in place on the wasm heap and writing straight into the output tensor.
 */
export function wasmBatchMatMul(base: Base, transpose: Base, routing: MatMulRouting): Base {
  return (raw) => {
    const args = raw as MatMulArgs<WasmBackend>;
    const { a, b } = args.inputs;
    const { transposeA, transposeB } = args.attrs;
    const { backend } = args;
    const large = largeProduct(routing, args);
    if (large !== undefined && routing.onnx !== undefined) {
      const out = backend.makeOutput(large.outShape, 'float32');
      try {
        // makeOutput may grow the heap, which detaches earlier views: take them afterwards.
        const view = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
        routing.onnx.run({ a: view(a), aShape: a.shape, b: view(b), bShape: b.shape, out: view(out), outShape: large.outShape, transposeA, transposeB });
        return out;
      } catch (e) {
        backend.disposeData(out.dataId);
        routing.onnxFailed(onnxFailure('wasm', a, b, e));
      }
    }
    const empty = a.shape.includes(0) || b.shape.includes(0);
    if (!routing.transposeOperands || (!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32' || empty) return base(args);
    const temporaries: TensorInfo[] = [];
    try {
      const a2 = transposeA ? swapLastTwo(a, backend, transpose) : a;
      if (transposeA) temporaries.push(a2);
      const b2 = transposeB ? swapLastTwo(b, backend, transpose) : b;
      if (transposeB) temporaries.push(b2);
      return base({ ...args, inputs: { a: a2, b: b2 }, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
    } finally {
      for (const t of temporaries) backend.disposeData(t.dataId);
    }
  };
}

/**
 * BatchMatMul for tfjs-backend-cpu: its own kernel is a JS loop (~0.4 GFLOP/s), so every product
 * above a small size goes to onnxruntime; the rest, and everything when onnxruntime is absent,
 * stays with the cpu kernel.
 */
export function cpuBatchMatMul(base: Base, routing: MatMulRouting): Base {
  return (raw) => {
    const args = raw as MatMulArgs<CpuBackend>;
    const large = largeProduct(routing, args);
    if (large !== undefined && routing.onnx !== undefined) {
      const { a, b } = args.inputs;
      const av = args.backend.data.get(a.dataId).values;
      const bv = args.backend.data.get(b.dataId).values;
      if (av instanceof Float32Array && bv instanceof Float32Array) {
        try {
          const out = new Float32Array(large.outShape.reduce((p, d) => p * d, 1));
          routing.onnx.run({ a: av, aShape: a.shape, b: bv, bShape: b.shape, out, outShape: large.outShape, transposeA: args.attrs.transposeA, transposeB: args.attrs.transposeB });
          return args.backend.makeTensorInfo(large.outShape, 'float32', out);
        } catch (e) {
          routing.onnxFailed(onnxFailure('cpu', a, b, e));
        }
      }
    }
    return base(args);
  };
}
