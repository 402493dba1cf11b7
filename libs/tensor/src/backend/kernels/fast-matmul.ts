import * as tf from '@tensorflow/tfjs';
import { PatchworkError } from '@patchwork/errors';
import { cpuBatchMatMul, wasmBatchMatMul, type Base, type MatMulRouting } from './batch-mat-mul';
import { loadOnnxMatMul } from './onnx-matmul';

export type FastKernelBackend = 'wasm' | 'cpu';

export interface FastMatMulOptions {
  /** wasm only: materialise transposed operands so they multiply at the plain kernel's speed. Default true. */
  transposeOperands?: boolean;
  /** Route large products to onnxruntime-node when it loads. Default true. */
  onnx?: boolean;
  /** Smallest product, in multiply-adds (batch · m · n · k), sent to onnxruntime. Default per backend, see ONNX_MIN_MACS. */
  onnxMinMacs?: number;
  /** Told once if onnxruntime fails on a product at run time (the backend's kernel then takes over). */
  onFallback?: (reason: string) => void;
}

/**
 * Where a call into onnxruntime starts to pay, measured with tools/bench/src/matmul-kernels.ts on
 * the 2-vCPU development machine (square A·B, onnxruntime on 2 threads, its fixed cost per call
 * included). wasm: XNNPACK on one thread stays ahead up to 96³ (onnxruntime 0.4x at 32³, 0.8x at
 * 96³), onnxruntime leads from 128³ (1.1x; 2x at 192³). cpu: the kernel is a JS loop, so
 * onnxruntime leads from 8³ (1.4x; 6x at 16³) and loses only below.
 */
export const ONNX_MIN_MACS: Readonly<Record<FastKernelBackend, number>> = { wasm: 128 ** 3, cpu: 8 ** 3 };

interface Slot {
  backend: FastKernelBackend;
  /** The kernel registered before ours, which computes everything we do not take. */
  base: tf.KernelConfig;
  ours: tf.KernelConfig;
  enabled: boolean;
  routing: MatMulRouting;
  /** Why onnxruntime is not used, when it is not. */
  onnxReason?: string;
  onFallback?: (reason: string) => void;
}

const slots = new Map<FastKernelBackend, Slot>();

function validate(options: FastMatMulOptions): void {
  for (const field of ['transposeOperands', 'onnx'] as const) {
    if (options[field] !== undefined && typeof options[field] !== 'boolean') {
      throw new PatchworkError('INVALID_ARGUMENT', `${field} must be a boolean, got ${JSON.stringify(options[field])}`, { violations: [{ field, description: 'must be a boolean' }] });
    }
  }
  const min = options.onnxMinMacs;
  if (min !== undefined && !(typeof min === 'number' && min >= 0 && (Number.isSafeInteger(min) || min === Infinity))) {
    throw new PatchworkError('INVALID_ARGUMENT', `onnxMinMacs must be a non-negative integer or Infinity, got ${JSON.stringify(min)}`, {
      violations: [{ field: 'onnxMinMacs', description: 'must be a non-negative integer or Infinity' }],
    });
  }
}

function createSlot(backend: FastKernelBackend, base: tf.KernelConfig): Slot | undefined {
  const baseFunc = base.kernelFunc as unknown as Base;
  const slot = { backend, base, enabled: true } as Slot;
  slot.routing = {
    transposeOperands: true,
    onnxMinMacs: ONNX_MIN_MACS[backend],
    onnxFailed: (reason) => {
      slot.routing.onnx = undefined;
      slot.onnxReason = reason;
      slot.onFallback?.(reason);
    },
  };
  let fast: Base;
  if (backend === 'wasm') {
    const transpose = tf.getKernel(tf.Transpose, 'wasm');
    if (transpose === undefined) return undefined;
    fast = wasmBatchMatMul(baseFunc, transpose.kernelFunc as unknown as Base, slot.routing);
  } else {
    fast = cpuBatchMatMul(baseFunc, slot.routing);
  }
  // Whoever wraps this kernel later still reaches the base kernel once fast kernels are switched off.
  const kernelFunc: Base = (args) => (slot.enabled ? fast(args) : baseFunc(args));
  // The base's setupFunc/disposeFunc stay: wasm kernels bind their wasm exports in setupFunc.
  slot.ours = { ...base, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
  return slot;
}

function describe(slot: Slot): string {
  const parts: string[] = [];
  if (slot.backend === 'wasm' && slot.routing.transposeOperands) parts.push('transposed operands materialised');
  const onnx = slot.routing.onnx;
  if (onnx !== undefined) {
    const min = slot.routing.onnxMinMacs;
    const side = Math.round(Math.cbrt(min));
    const amount = !Number.isFinite(min) ? '∞' : side ** 3 === min ? `${side}³` : String(min);
    const threshold = min === 0 ? 'every product' : `products of >= ${amount} multiply-adds`;
    parts.push(`${threshold} on onnxruntime-node ${onnx.version} (${onnx.threads} threads)`);
  } else {
    parts.push(`${slot.backend} kernel for every product (${slot.onnxReason})`);
  }
  return `BatchMatMul: ${parts.join('; ')}`;
}

/**
 * Registers the fast BatchMatMul for `backend` (process-wide; later calls update the options).
 * Returns a one-line description of what computes products, or undefined when the backend's
 * package is not loaded (no kernel to wrap). onnxruntime-node is loaded on first use, inside
 * try/catch: absent or failing, products stay with the backend's kernels and the description says why.
 */
export function installFastMatMul(backend: FastKernelBackend, options: FastMatMulOptions = {}): string | undefined {
  validate(options);
  const current = tf.getKernel(tf.BatchMatMul, backend);
  if (current === undefined) return undefined;
  let slot = slots.get(backend);
  if (slot === undefined) {
    slot = createSlot(backend, current);
    if (slot === undefined) return undefined;
    slots.set(backend, slot);
  }
  slot.enabled = true;
  slot.onFallback = options.onFallback;
  slot.routing.transposeOperands = options.transposeOperands ?? true;
  slot.routing.onnxMinMacs = options.onnxMinMacs ?? ONNX_MIN_MACS[backend];
  if (options.onnx === false) {
    slot.routing.onnx = undefined;
    slot.onnxReason = 'onnxruntime-node switched off';
  } else {
    const onnx = loadOnnxMatMul();
    slot.routing.onnx = onnx.ok ? onnx.engine : undefined;
    slot.onnxReason = onnx.ok ? undefined : onnx.reason;
  }
  if (current !== slot.ours) {
    tf.unregisterKernel(tf.BatchMatMul, backend);
    tf.registerKernel(slot.ours);
  }
  return describe(slot);
}

/** Puts the backend's own BatchMatMul back (the reference kernel for tests and comparisons). */
export function restoreMatMul(backend: FastKernelBackend): void {
  const slot = slots.get(backend);
  if (slot === undefined) return;
  slot.enabled = false;
  if (tf.getKernel(tf.BatchMatMul, backend) === slot.ours) {
    tf.unregisterKernel(tf.BatchMatMul, backend);
    tf.registerKernel(slot.base);
  }
}

/** What computes BatchMatMul on `backend` now, if the fast kernel is installed; reflects run-time fallbacks. */
export function fastMatMulInfo(backend: string): string | undefined {
  const slot = slots.get(backend as FastKernelBackend);
  return slot?.enabled ? describe(slot) : undefined;
}
