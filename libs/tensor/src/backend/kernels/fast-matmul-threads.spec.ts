import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackends } from '../init';
import { installFastMatMul } from './fast-matmul';
import { loadOnnxMatMul } from './onnx-matmul';

// Its own file: wasm's thread count is fixed by the first initialisation in a process, and the
// threaded build keeps its heap in a SharedArrayBuffer, which onnxruntime-node cannot read in
// place (operands then travel through private copies).
describe('fast BatchMatMul on threaded wasm', () => {
  afterAll(() => shutdownBackends());

  it('computes through onnxruntime from a shared heap what the cpu reference computes', async () => {
    const onnx = loadOnnxMatMul();
    if (!onnx.ok) throw new Error(onnx.reason);
    await initBackend({ backend: 'cpu' });
    const a = tf.tidy(() => tf.randomNormal([2, 40, 24], 0, 1, 'float32', 3));
    const b = tf.tidy(() => tf.randomNormal([32, 24], 0, 1, 'float32', 4));
    const want = tf.tidy(() => tf.matMul(a, b, false, true).dataSync());
    const info = await initBackend({ backend: 'wasm', threads: 2 });
    expect(info).toMatchObject({ name: 'wasm', threads: 2 });
    expect((tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer).toBeInstanceOf(SharedArrayBuffer);
    installFastMatMul('wasm', { onnxMinMacs: 0 });
    const run = jest.spyOn(onnx.engine, 'run');
    const got = tf.tidy(() => tf.matMul(a, b, false, true).dataSync());
    expect(run).toHaveBeenCalledTimes(1);
    run.mockRestore();
    const scale = Math.max(...Array.from(want, Math.abs));
    expect(Math.max(...Array.from(got, (g, i) => Math.abs(g - want[i]))) / scale).toBeLessThanOrEqual(1e-4);
    tf.dispose([a, b]);
  });
});
