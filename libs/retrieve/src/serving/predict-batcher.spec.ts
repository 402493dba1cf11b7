import { PatchworkError } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import { LoraAdapter } from '@patchwork/peft';
import { initBackend, tf } from '@patchwork/tensor';
import { tinyVit } from '../testing/tiny-vit';
import { AdapterCache } from './adapter-cache';
import { PredictBatcher } from './predict-batcher';
import { type PredictResult, RoutedPredictor } from './routed-predictor';
import { type ServableAdapter, adapterBytes } from './servable-adapter';

const IDS = ['a', 'b', 'c', 'd'];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('PredictBatcher [wasm]', () => {
  let model: Model;
  let routed: RoutedPredictor;
  let loadDelayMs = 0;
  const inputs: tf.Tensor4D[] = [];

  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    model = tinyVit(3);
    const cache = new AdapterCache<ServableAdapter>({
      budgetBytes: 1e9,
      sizeOf: adapterBytes,
      load: async (id) => {
        if (loadDelayMs > 0) await new Promise((r) => setTimeout(r, loadDelayMs));
        const seed = IDS.indexOf(id);
        if (seed < 0) throw new PatchworkError('NOT_FOUND', `no adapter ${id}`);
        return LoraAdapter.create(model, { r: 2, lora_alpha: 4, target_modules: ['query', 'value', 'output.dense'], init_lora_weights: false }, { seed: seed + 1 });
      },
    });
    routed = new RoutedPredictor(model, cache);
    for (let i = 0; i < 8; i++) inputs.push(tf.randomUniform([1 + (i % 2), 1, 8, 8], 0, 1, 'float32', 100 + i) as tf.Tensor4D);
  });

  afterAll(() => {
    tf.dispose(inputs);
    model.dispose();
  });

  const call = (i: number, adapterId: string | null = IDS[i % IDS.length]) => [{ adapterId, input: { pixelValues: inputs[i] } }];

  async function alone(i: number, adapterId: string | null = IDS[i % IDS.length]): Promise<PredictResult> {
    return (await routed.predictBatched(call(i, adapterId)))[0];
  }

  it('runs concurrent calls for different adapters as one batch, each answered as if alone', async () => {
    const batcher = new PredictBatcher(routed, { enabled: true, maxBatchRows: 64, maxWaitMs: 5 });
    const results = await Promise.all(inputs.map((_, i) => batcher.run(call(i, i === 7 ? null : undefined))));
    expect(batcher.stats).toEqual({ calls: 8, batches: 1, isolatedFailures: 0 });
    expect(routed.lastStats.forwards).toBe(1);
    for (const [i, [r]] of results.entries()) {
      const expected = await alone(i, i === 7 ? null : undefined);
      expect(r.adapterId).toBe(expected.adapterId);
      expect(r.shape).toEqual(expected.shape);
      expect(maxAbsDiff(r.logits, expected.logits)).toBeLessThan(1e-5);
    }
  });

  it('cuts batches at maxBatchRows, and runs every call alone when disabled', async () => {
    const capped = new PredictBatcher(routed, { enabled: true, maxBatchRows: 3, maxWaitMs: 5 });
    // Rows per call alternate 1, 2: batches [1, 2], [1, 2], [1, 2], [1, 2].
    await Promise.all(inputs.map((_, i) => capped.run(call(i))));
    expect(capped.stats.batches).toBe(4);
    const off = new PredictBatcher(routed, { enabled: false, maxBatchRows: 64, maxWaitMs: 5 });
    const results = await Promise.all(inputs.map((_, i) => off.run(call(i))));
    expect(off.stats).toEqual({ calls: 8, batches: 8, isolatedFailures: 0 });
    expect(maxAbsDiff(results[5][0].logits, (await alone(5)).logits)).toBeLessThan(1e-6);
  });

  it('lets calls that arrive during a batch form the next one', async () => {
    const batcher = new PredictBatcher(routed, { enabled: true, maxBatchRows: 64, maxWaitMs: 5 });
    loadDelayMs = 30;
    try {
      const first = batcher.run(call(0, 'a'));
      await new Promise((r) => setTimeout(r, 5));
      // 'a' is loading (30 ms): these four queue behind it and run together.
      const later = [1, 2, 3, 4].map((i) => batcher.run(call(i)));
      await Promise.all([first, ...later]);
      expect(batcher.stats).toEqual({ calls: 5, batches: 2, isolatedFailures: 0 });
    } finally {
      loadDelayMs = 0;
    }
  });

  it('waits for announced calls (at most maxWaitMs), and for nothing else', async () => {
    const batcher = new PredictBatcher(routed, { enabled: true, maxBatchRows: 64, maxWaitMs: 2000 });
    const coming = batcher.announce();
    const first = batcher.run(call(0));
    // The second call is announced (its inputs "decoding") and arrives 20 ms later: one batch.
    await new Promise((r) => setTimeout(r, 20));
    await Promise.all([first, batcher.run(call(1), coming)]);
    expect(batcher.stats).toEqual({ calls: 2, batches: 1, isolatedFailures: 0 });
    // Unannounced calls do not hold a batch back.
    await batcher.run(call(2));
    await batcher.run(call(3));
    expect(batcher.stats.batches).toBe(3);
    // An announced call that never comes delays a batch by maxWaitMs only.
    const quick = new PredictBatcher(routed, { enabled: true, maxBatchRows: 64, maxWaitMs: 30 });
    const lost = quick.announce();
    const started = performance.now();
    await quick.run(call(4));
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    lost.withdraw();
    lost.withdraw();
    const t0 = performance.now();
    const withdrawn = quick.announce();
    withdrawn.withdraw();
    await quick.run(call(5));
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('fails only the faulty call of a batch, and refuses bad inputs before queueing them', async () => {
    const batcher = new PredictBatcher(routed, { enabled: true, maxBatchRows: 64, maxWaitMs: 5 });
    const settled = await Promise.allSettled([batcher.run(call(0)), batcher.run(call(1, 'nope')), batcher.run(call(2))]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'NOT_FOUND' });
    expect(batcher.stats).toEqual({ calls: 2, batches: 2, isolatedFailures: 1 });
    const wrong = tf.zeros([1, 1, 4, 4]);
    await expect(batcher.run([{ adapterId: 'a', input: { pixelValues: wrong } }])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('requests[0].input.pixelValues') });
    wrong.dispose();
    await expect(batcher.run([])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => new PredictBatcher(routed, { enabled: true, maxBatchRows: 0, maxWaitMs: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
