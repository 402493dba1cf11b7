import * as tf from '@tensorflow/tfjs';
import { registerWasmUnsortedSegmentSum } from './kernels/unsorted-segment-sum';
import { enableWasmThreads } from './wasm-threads';

export interface WasmStart {
  threads: number;
  simd: boolean;
}

/**
 * Initialises tfjs-backend-wasm (importing the package registered it) and makes it current.
 * Threads are fixed at the first initialisation: tfjs cannot re-create the wasm backend in the
 * same process, so a later request for another count keeps the first one.
 */
export async function startWasm(threads: number): Promise<WasmStart> {
  // Loaded on demand: importing the package registers wasm as the preferred backend, and an
  // uninitialised async backend would make every tfjs op in the process throw until tf.ready().
  const { getThreadsCount, setThreadsCount } = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  registerWasmUnsortedSegmentSum();
  const alreadyUp = tf.engine().registry['wasm'] !== undefined;
  let restore: (() => void) | undefined;
  if (!alreadyUp && threads > 1) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    setThreadsCount(threads);
    restore = enableWasmThreads(threads);
  } else if (!alreadyUp) {
    setThreadsCount(1);
  }
  try {
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error('tf.setBackend("wasm") returned false');
    await tf.ready();
  } finally {
    restore?.();
  }
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  return { threads: getThreadsCount(), simd };
}
