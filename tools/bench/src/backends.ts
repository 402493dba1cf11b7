import { initBackend, type BackendInfo } from '@patchwork/tensor';
import type { BenchBackend } from './options';

/** Switches tfjs to `backend` through the library's own initialisation (as services do). */
export async function useBackend(backend: BenchBackend, wasmThreads: number): Promise<BackendInfo> {
  return initBackend({ backend, threads: backend === 'wasm' ? wasmThreads : 1 });
}

export function describeBackend(info: BackendInfo): string {
  const extras = [info.threads > 1 ? `${info.threads} threads` : '1 thread', info.simd === undefined ? '' : info.simd ? 'SIMD' : 'no SIMD'].filter(Boolean);
  return `${info.name} (${extras.join(', ')})`;
}
