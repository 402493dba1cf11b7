import { PatchworkError } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';

interface WasmTensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}

interface WasmBackendLike {
  disposeData(dataId: object): void;
}

interface MatMulArgs {
  inputs: { a: WasmTensorInfo; b: WasmTensorInfo };
  backend: WasmBackendLike;
  attrs: { transposeA: boolean; transposeB: boolean };
}

let original: tf.KernelConfig | undefined;

/** The last two axes swapped, through the backend's own Transpose kernel. */
function swapLastTwo(x: WasmTensorInfo, backend: WasmBackendLike, transpose: tf.KernelConfig): WasmTensorInfo {
  const rank = x.shape.length;
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return transpose.kernelFunc({ inputs: { x } as never, backend: backend as never, attrs: { perm } as never }) as unknown as WasmTensorInfo;
}

/**
 * tfjs-backend-wasm 4.22 runs `BatchMatMul` through XNNPACK only when neither operand is
 * transposed; every other case takes a scalar loop that is 10-80x slower (measured here on a
 * 1024x128x2048 product: 14 GFLOP/s plain, 1.5 with transposeB, 0.2 with transposeA). Training
 * hits the slow cases constantly: `nn.Linear` layers multiply by Wᵀ and every backward pass of a
 * product takes both transposed forms. This wrapper materialises the transposes with the wasm
 * Transpose kernel (memory-bound, cheap next to the product) and hands the plain product to the
 * original kernel. Results equal the reference up to float32 summation order.
 *
 * Process-wide and idempotent; a no-op where wasm is not registered. Undo with
 * {@link unregisterWasmMatMulFastPath}.
 */
export function registerWasmMatMulFastPath(): boolean {
  if (original !== undefined) return true;
  const current = tf.getKernel(tf.BatchMatMul, 'wasm');
  const transpose = tf.getKernel(tf.Transpose, 'wasm');
  if (current === undefined || transpose === undefined) return false;
  const plain = current.kernelFunc;
  const kernelFunc = (args: MatMulArgs): WasmTensorInfo => {
    const { a, b } = args.inputs;
    const { transposeA, transposeB } = args.attrs;
    if (!transposeA && !transposeB) return plain(args as never) as unknown as WasmTensorInfo;
    const temporaries: WasmTensorInfo[] = [];
    try {
      const a2 = transposeA ? swapLastTwo(a, args.backend, transpose) : a;
      if (transposeA) temporaries.push(a2);
      const b2 = transposeB ? swapLastTwo(b, args.backend, transpose) : b;
      if (transposeB) temporaries.push(b2);
      return plain({ ...args, inputs: { a: a2, b: b2 }, attrs: { ...args.attrs, transposeA: false, transposeB: false } } as never) as unknown as WasmTensorInfo;
    } finally {
      for (const t of temporaries) args.backend.disposeData(t.dataId);
    }
  };
  tf.unregisterKernel(tf.BatchMatMul, 'wasm');
  try {
    tf.registerKernel({ ...current, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  } catch (e) {
    tf.registerKernel(current);
    throw new PatchworkError('INTERNAL', `cannot register the wasm BatchMatMul fast path: ${(e as Error).message}`, { cause: e });
  }
  original = current;
  return true;
}

/** Restores tfjs's own wasm `BatchMatMul` kernel. */
export function unregisterWasmMatMulFastPath(): void {
  if (original === undefined) return;
  tf.unregisterKernel(tf.BatchMatMul, 'wasm');
  tf.registerKernel(original);
  original = undefined;
}
