import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { productModel } from './onnx-model';

/**
 * float32 products through onnxruntime-node's CPU library (MLAS GEMM, multi-threaded), called
 * synchronously so that it can sit behind a tfjs kernel.
 *
 * onnxruntime-node's public `InferenceSession.run` is async, but it is a thin wrapper that
 * defers (setImmediate) a call to the native binding's `run`, which is synchronous. This module
 * uses that binding (`onnxruntime-node/dist/binding`, the package's own entry to its addon)
 * directly. Because it is not the documented API, loading checks the binding's shape and runs a
 * small product against a JS result before reporting itself available; anything unexpected makes
 * it unavailable with the reason, and callers keep their own kernels.
 *
 * Operands are passed as views, not copies: the addon wraps a typed array's memory without
 * copying (inputs and the preallocated output alike), so a view of the wasm heap works and the
 * product is written straight into the output tensor. The addon's return value is a separate copy
 * of the output, dropped here (one pass over C, small next to the product). A SharedArrayBuffer
 * (threaded wasm) is refused by the addon: those operands go through private copies.
 */

interface OrtTensorLike {
  type: 'float32';
  dims: number[];
  location: 'cpu';
  data: Float32Array;
}

interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: Record<string, unknown>): void;
  run(feeds: Record<string, OrtTensorLike>, fetches: Record<string, OrtTensorLike | null>): Record<string, unknown>;
}

type TensorConstructor = new (type: string, data: unknown, dims: readonly number[]) => object;

interface NativeBinding {
  binding: {
    InferenceSession: new () => NativeSession;
    initOrtOnce: (logLevel: number, tensorConstructor: TensorConstructor, isMainThread: boolean) => void;
  };
  initOrt: () => void;
}

const ORT_LOG_WARNING = 2;

export interface OnnxProduct {
  a: Float32Array;
  aShape: readonly number[];
  b: Float32Array;
  bShape: readonly number[];
  /** Receives the product; its shape must be the broadcast batch shape + [m, n]. */
  out: Float32Array;
  outShape: readonly number[];
  transposeA: boolean;
  transposeB: boolean;
}

export interface OnnxMatMul {
  /** onnxruntime-node's version. */
  readonly version: string;
  /** Intra-op threads of every session (the machine's available parallelism). */
  readonly threads: number;
  /** Computes the product into `out`; throws what onnxruntime throws. */
  run(p: OnnxProduct): void;
}

export type OnnxLoad = { ok: true; engine: OnnxMatMul } | { ok: false; reason: string };

let loaded: OnnxLoad | undefined;

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

function tensor(data: Float32Array, shape: readonly number[]): OrtTensorLike {
  return { type: 'float32', dims: [...shape], location: 'cpu', data };
}

function isShared(x: Float32Array): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && x.buffer instanceof SharedArrayBuffer;
}

/** The addon refuses views of a SharedArrayBuffer; such operands travel as private copies. */
function unshared(x: Float32Array): Float32Array {
  return isShared(x) ? x.slice() : x;
}

class OnnxMatMulEngine implements OnnxMatMul {
  private readonly sessions = new Map<string, NativeSession>();

  constructor(
    private readonly native: NativeBinding,
    readonly version: string,
    readonly threads: number,
  ) {}

  run(p: OnnxProduct): void {
    const session = this.session(p.aShape.length, p.bShape.length, p.transposeA, p.transposeB);
    const feeds = { a: tensor(unshared(p.a), p.aShape), b: tensor(unshared(p.b), p.bShape) };
    const target = isShared(p.out) ? new Float32Array(p.out.length) : p.out;
    session.run(feeds, { c: tensor(target, p.outShape) });
    if (target !== p.out) p.out.set(target);
  }

  private session(rankA: number, rankB: number, transposeA: boolean, transposeB: boolean): NativeSession {
    const key = `${rankA},${rankB},${transposeA},${transposeB}`;
    let session = this.sessions.get(key);
    if (session === undefined) {
      const model = productModel({ rankA, rankB, transposeA, transposeB });
      session = new this.native.binding.InferenceSession();
      session.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, {
        intraOpNumThreads: this.threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // Shapes change from call to call and the output is preallocated: an arena would only
        // keep the largest temporary alive for the life of the process.
        enableCpuMemArena: false,
        enableMemPattern: false,
        // Failures reach the caller as exceptions with the same text; the log would only repeat them.
        logSeverityLevel: 4,
        // Idle pool threads would otherwise spin between calls, taking a core from wasm and
        // from every other process on a shared machine.
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
      this.sessions.set(key, session);
    }
    return session;
  }
}

/**
 * The addon wraps every run's outputs in the Tensor class it was initialised with, and that class
 * insists on typed arrays of its own realm. Under a vm sandbox (Jest's test environment) the
 * addon's arrays come from the outer realm, so the wrap throws after the product was computed.
 * This subclass copies foreign-realm arrays into the local realm first and is otherwise the
 * package's own Tensor, so other users of onnxruntime-node in the process see no difference.
 */
function realmTolerant(Tensor: TensorConstructor): TensorConstructor {
  return class extends Tensor {
    constructor(type: string, data: unknown, dims: readonly number[]) {
      const kind = Object.prototype.toString.call(data).slice(8, -1);
      const Local = (globalThis as unknown as Record<string, unknown>)[kind];
      const foreign = ArrayBuffer.isView(data) && typeof Local === 'function' && !(data instanceof Local);
      super(type, foreign ? new (Local as new (source: unknown) => unknown)(data) : data, dims);
    }
  };
}

/** C = op(A)·op(B) in float64 for the self-check: A is 2x3 or 3x2, B is 3x2 or 2x3. */
function referenceProduct(a: Float32Array, b: Float32Array, transposeA: boolean, transposeB: boolean): number[] {
  const at = (i: number, k: number) => (transposeA ? a[k * 2 + i] : a[i * 3 + k]);
  const bt = (k: number, j: number) => (transposeB ? b[j * 3 + k] : b[k * 2 + j]);
  const out: number[] = [];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) out.push(at(i, 0) * bt(0, j) + at(i, 1) * bt(1, j) + at(i, 2) * bt(2, j));
  return out;
}

function selfCheck(engine: OnnxMatMul): void {
  const a = Float32Array.from([1, -2, 3, 0.5, 4, -1]);
  const b = Float32Array.from([2, 1, -1, 3, 0.25, -2]);
  for (const [transposeA, transposeB] of [[false, false], [true, true]] as const) {
    const out = new Float32Array(4);
    engine.run({ a, aShape: transposeA ? [3, 2] : [2, 3], b, bShape: transposeB ? [2, 3] : [3, 2], out, outShape: [2, 2], transposeA, transposeB });
    const want = referenceProduct(a, b, transposeA, transposeB);
    if (!want.every((w, i) => Math.abs(w - out[i]) <= 1e-6 * (1 + Math.abs(w)))) {
      throw new Error(`self-check product differs: got [${Array.from(out).join(', ')}], expected [${want.join(', ')}]`);
    }
  }
}

function load(): OnnxLoad {
  let native: NativeBinding;
  let version: string;
  let Tensor: TensorConstructor;
  try {
    // Resolved at run time: onnxruntime-node is an optional dependency and may be absent.
    const pkg = require.resolve('onnxruntime-node/package.json');
    version = String((require(pkg) as { version?: unknown }).version);
    native = require('onnxruntime-node/dist/binding') as NativeBinding;
    Tensor = (createRequire(pkg)('onnxruntime-common') as { Tensor: TensorConstructor }).Tensor;
  } catch (e) {
    return { ok: false, reason: `onnxruntime-node not loadable (${firstLine(e)})` };
  }
  if (typeof native?.initOrt !== 'function' || typeof native.binding?.InferenceSession !== 'function' || typeof native.binding.initOrtOnce !== 'function' || typeof Tensor !== 'function') {
    return { ok: false, reason: `onnxruntime-node ${version} has no synchronous binding of the expected shape` };
  }
  try {
    // initOrt marks the package as initialised (its public API will not re-initialise); the
    // second call only swaps in the realm-tolerant Tensor class.
    native.initOrt();
    native.binding.initOrtOnce(ORT_LOG_WARNING, realmTolerant(Tensor), isMainThread);
    const engine = new OnnxMatMulEngine(native, version, Math.max(1, availableParallelism()));
    selfCheck(engine);
    return { ok: true, engine };
  } catch (e) {
    return { ok: false, reason: `onnxruntime-node ${version} failed its self-check (${firstLine(e)})` };
  }
}

/** Loads onnxruntime-node once per process (module registry); later calls return the same answer. */
export function loadOnnxMatMul(): OnnxLoad {
  loaded ??= load();
  return loaded;
}
