import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/init';
import { assertNoLeaks } from './assert-no-leaks';
import { WASM_MEMORY_BUDGET_BYTES, ensureMemoryBudget } from './budget';

describe('assertNoLeaks', () => {
  it('passes tidy code and returned tensors, fails on a leak', async () => {
    const kept = await assertNoLeaks(() => tf.tidy(() => tf.add(tf.ones([2]), tf.ones([2]))));
    const nested = await assertNoLeaks(async () => ({ a: [tf.scalar(1)], b: new Map([['x', tf.scalar(2)]]) }));
    await expect(assertNoLeaks(() => void tf.ones([3]).add(1))).rejects.toThrow('tensor leak: 2 tensor(s) left alive');
    tf.dispose([kept, ...nested.a, ...nested.b.values()]);
    tf.disposeVariables();
  });
});

describe('ensureMemoryBudget', () => {
  afterAll(async () => {
    await initBackend({ backend: 'cpu' });
  });

  it('enforces the wasm ceiling by default and explicit budgets everywhere', async () => {
    await initBackend({ backend: 'cpu' });
    expect(() => ensureMemoryBudget(10 * 1024 ** 3)).not.toThrow();
    const x = tf.zeros([1024]);
    expect(() => ensureMemoryBudget(1, 4096)).toThrow(
      expect.objectContaining({ code: 'RESOURCE_EXHAUSTED', message: expect.stringMatching(/^cpu tensor memory: \d+ bytes in use \+ 1 bytes requested exceeds the 4096 bytes budget/) }),
    );
    x.dispose();
    await initBackend({ backend: 'wasm' });
    expect(() => ensureMemoryBudget(WASM_MEMORY_BUDGET_BYTES - tf.memory().numBytes)).not.toThrow();
    expect(() => ensureMemoryBudget(4 * 1024 ** 3)).toThrow(/^wasm tensor memory: \d+ bytes in use \+ 4\.00 GiB requested exceeds the 3\.50 GiB budget; process the data in smaller pieces$/);
    expect(() => ensureMemoryBudget(-1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
