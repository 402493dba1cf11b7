export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type BackendChoice = 'auto' | BackendName;

/** Structured log sink; libraries never own a logger, the process edge passes one in. */
export type BackendLogger = (msg: string, fields: Record<string, unknown>) => void;

export interface InitBackendOptions {
  backend: BackendChoice;
  /** wasm threads; 1 (the default) keeps the single-threaded build. See wasm-threads.ts. */
  threads?: number;
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
}
