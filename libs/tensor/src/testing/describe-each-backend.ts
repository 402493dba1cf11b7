import { initBackend } from '../backend/init';
import type { BackendName } from '../backend/types';

/**
 * Backends every machine has. tensorflow and webgpu need hardware or native packages that CI
 * machines lack, and Jest cannot skip a suite after an async probe, so they run only when asked.
 */
export const TEST_BACKENDS: readonly BackendName[] = ['cpu', 'wasm'];

/**
 * Declares the suite `fn` once per backend (`name [cpu]`, `name [wasm]`, ...); each copy switches
 * the process to its backend in beforeAll, so the same assertions run on every kernel set.
 */
export function describeEachBackend(name: string, fn: (backend: BackendName) => void, backends: readonly BackendName[] = TEST_BACKENDS): void {
  for (const backend of backends) {
    describe(`${name} [${backend}]`, () => {
      beforeAll(async () => {
        await initBackend({ backend });
      });
      fn(backend);
    });
  }
}
