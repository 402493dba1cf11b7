export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type BackendChoice = 'auto' | BackendName;

/** Structured log sink; libraries never own a logger, the process edge passes one in. */
export type BackendLogger = (msg: string, fields: Record<string, unknown>) => void;

export interface InitBackendOptions {
  backend: BackendChoice;
  /** wasm threads; 1 (the default) keeps the single-threaded build. See wasm-threads.ts. */
  threads?: number;
  /**
   * Faster kernels behind the same tfjs API (kernels/fast-matmul.ts): on wasm, transposed
   * products at the plain kernel's speed and large products on onnxruntime-node; on cpu, large
   * products on onnxruntime-node. Default true on wasm, false on cpu (the reference backend that
   * tests compare against); false restores the backend's own kernels.
   */
  fastKernels?: boolean;
  logger?: BackendLogger;
}

export interface BackendInfo {
  /** The tfjs backend in use: tensorflow, webgpu, wasm or cpu. */
  name: BackendName;
  /** What computes: `cpu`, `gpu (<adapter>)`, `cuda`, ... */
  device: string;
  threads: number;
  simd?: boolean;
  /** Why preferred backends were skipped (auto), joined with "; ". */
  reason?: string;
  /** What computes products when fast kernels are on, including why onnxruntime-node is not used. */
  kernels?: string;
}
