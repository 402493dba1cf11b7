import * as tf from '@tensorflow/tfjs';
import { backendInfo, initBackend, shutdownBackends } from './init';

// Its own spec file: wasm's thread count is fixed by the first initialisation in a process
// (Jest gives each file a fresh module registry, hence a fresh tfjs and wasm module).
describe('wasm with two threads', () => {
  afterAll(() => shutdownBackends());

  it('starts the threaded build and computes what cpu computes', async () => {
    const a = tf.tidy(() => tf.randomNormal([96, 80], 0, 1, 'float32', 7));
    const b = tf.tidy(() => tf.randomNormal([80, 64], 0, 1, 'float32', 8));
    await initBackend({ backend: 'cpu' });
    const expected = tf.tidy(() => tf.matMul(a, b).arraySync()) as number[][];
    const info = await initBackend({ backend: 'wasm', threads: 2 });
    expect(info).toMatchObject({ name: 'wasm', threads: 2, simd: true });
    expect(backendInfo().threads).toBe(2);
    const got = tf.tidy(() => tf.matMul(a, b).arraySync()) as number[][];
    const worst = Math.max(...got.flatMap((row, i) => row.map((v, j) => Math.abs(v - expected[i][j]))));
    expect(worst).toBeLessThan(1e-4);
    tf.dispose([a, b]);
  });
});
