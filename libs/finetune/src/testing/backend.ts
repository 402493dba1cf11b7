import { initBackend } from '@patchwork/tensor';

/**
 * Runs the suite on the wasm backend, the fast CPU path (tfjs's cpu kernels are ~30x slower on
 * these models). Math that must hold on every backend uses `describeEachBackend` instead.
 */
export function useWasmBackend(): void {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });
}
