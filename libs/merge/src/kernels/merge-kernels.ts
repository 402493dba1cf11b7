import { mergeKernelModule } from './kernel-module';

/** The slice of the WebAssembly API used here (the project's type libraries do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}

interface KernelExports {
  memory: WasmMemory;
  sub(m: number, b: number, out: number, n: number): void;
  bracket(p: number, n: number, low: number, high: number, cand: number, cap: number, counts: number): number;
  prune_window(p: number, n: number, a: number, b: number, lo: number, hi: number, aboveA: number, aboveB: number, seen: number): void;
  elect_total(p: number, e: number, n: number): void;
  elect_frequency(p: number, e: number, n: number): void;
  merge_agreeing(p: number, e: number, s: number, c: number, w: number, n: number): void;
  weighted_sum(p: number, s: number, w: number, n: number): void;
  finish(base: number, s: number, c: number, lambda: number, out: number, n: number, divide: number): void;
}

const PAGE = 65536;

/**
 * The merge's SIMD kernels (kernel-module.ts) instantiated once per process, with a bump
 * allocator over their memory: a caller lays out its arrays with `alloc` after `reset`, then
 * takes views. Growing the memory detaches earlier views, so views are taken after allocating.
 */
export class MergeKernels {
  private static instance: MergeKernels | null | undefined;
  private top = 0;

  private constructor(readonly k: KernelExports) {}

  /** The process's kernels, or null where WebAssembly SIMD is unavailable (callers then use plain loops). */
  static get(): MergeKernels | null {
    if (MergeKernels.instance === undefined) {
      try {
        const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
        const bytes = mergeKernelModule();
        MergeKernels.instance = wasm && wasm.validate(bytes) ? new MergeKernels(new wasm.Instance(new wasm.Module(bytes), {}).exports as unknown as KernelExports) : null;
      } catch {
        MergeKernels.instance = null;
      }
    }
    return MergeKernels.instance;
  }

  reset(): void {
    this.top = 0;
  }

  /** A 16-byte aligned region of `bytes`; the memory grows when needed. */
  alloc(bytes: number): number {
    const at = this.top;
    this.top = at + Math.ceil(bytes / 16) * 16;
    const memory = this.k.memory;
    if (this.top > memory.buffer.byteLength) memory.grow(Math.ceil((this.top - memory.buffer.byteLength) / PAGE));
    return at;
  }

  f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, offset, length);
  }

  f64(offset: number, length: number): Float64Array {
    return new Float64Array(this.k.memory.buffer, offset, length);
  }

  i32(offset: number, length: number): Int32Array {
    return new Int32Array(this.k.memory.buffer, offset, length);
  }
}
