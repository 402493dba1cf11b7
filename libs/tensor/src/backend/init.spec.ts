import * as tf from '@tensorflow/tfjs';
import { backendInfo, initBackend } from './init';

describe('initBackend', () => {
  it('auto picks the best available backend and says why better ones were skipped', async () => {
    const logged: Array<[string, Record<string, unknown>]> = [];
    const info = await initBackend({ backend: 'auto', logger: (msg, fields) => logged.push([msg, fields]) });
    expect(tf.getBackend()).toBe(info.name);
    expect(backendInfo()).toEqual(info);
    expect(logged).toEqual([['tensor backend selected', { requested: 'auto', ...info }]]);
    if (info.name !== 'tensorflow') expect(info.reason).toContain('tensorflow: @tensorflow/tfjs-node-gpu not loadable');
    if (info.name === 'wasm') {
      expect(info.reason).toMatch(/webgpu: /);
      expect(info).toMatchObject({ device: 'cpu', threads: 1, simd: true });
    }
  });

  it('refuses an explicit backend that cannot start, with the reason', async () => {
    for (const backend of ['tensorflow', 'webgpu'] as const) {
      const outcome = await initBackend({ backend }).then(
        (info) => info,
        (e: unknown) => e,
      );
      if ((outcome as { name?: string }).name === backend) continue; // this machine has it
      expect(outcome).toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining(`backend ${backend} is unavailable: ${backend}: `) });
    }
  });

  it('switches between cpu and wasm and keeps tensors usable across the switch', async () => {
    expect(await initBackend({ backend: 'cpu' })).toEqual({ name: 'cpu', device: 'cpu', threads: 1 });
    const x = tf.tensor1d([1, 2, 3]);
    const wasm = await initBackend({ backend: 'wasm' });
    expect(wasm.name).toBe('wasm');
    const y = tf.tidy(() => tf.mul(x, 2));
    expect(Array.from(y.dataSync())).toEqual([2, 4, 6]);
    tf.dispose([x, y]);
  });

  it('validates its options', async () => {
    await expect(initBackend({ backend: 'gpu' as never })).rejects.toThrow('backend must be one of auto, tensorflow, webgpu, wasm, cpu, got "gpu"');
    await expect(initBackend({ backend: 'wasm', threads: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'threads must be an integer in [1, 64], got 0' });
  });

  it('reports a backend switched behind its back', async () => {
    await initBackend({ backend: 'wasm' });
    await tf.setBackend('cpu');
    expect(backendInfo()).toMatchObject({ name: 'cpu', reason: 'backend switched outside initBackend (last chosen: wasm)' });
  });
});
