import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';


interface WasmKernelArgs {
  inputs: { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  backend: BackendWasm;
  attrs: { numSegments: number };
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * `UnsortedSegmentSum` for the wasm backend, which lacks it. It is the gradient of `gather`, so
 * without it embeddings cannot train on wasm. Same semantics as the cpu kernel: `segmentIds`
 * covers a prefix of `x`'s dimensions, rows whose id is outside [0, numSegments) are dropped.
 * The loop runs in JS over views of the wasm heap (one pass, no copies).
 */
function unsortedSegmentSum({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const { x, segmentIds } = inputs;
  const { numSegments } = attrs;
  const rows = size(segmentIds.shape);
  const inner = rows === 0 ? 0 : size(x.shape) / rows;
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  // makeOutput may grow the heap, which detaches earlier views: take the views afterwards.
  const out = backend.makeOutput(outShape, x.dtype);
  const outValues = backend.typedArrayFromHeap(out);
  const xValues = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  outValues.fill(0);
  for (let r = 0; r < rows; r++) {
    const s = ids[r];
    if (s < 0 || s >= numSegments) continue;
    const src = r * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) outValues[dst + j] += xValues[src + j];
  }
  return out;
}

export function registerWasmUnsortedSegmentSum(): void {
  if (tf.getKernel(tf.UnsortedSegmentSum, 'wasm') !== undefined) return;
  tf.registerKernel({
    kernelName: tf.UnsortedSegmentSum,
    backendName: 'wasm',
    kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
  });
}
