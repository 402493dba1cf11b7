import { PatchworkError } from '@patchwork/errors';
import { assertNoLeaks, describeEachBackend, tf, withTempDir } from '@patchwork/tensor';
import { cp, readdir } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { Prng } from '../random/prng';
import { listCheckpoints } from './checkpoint-store';
import type { TrainOptions, TrainProgress } from './options';
import { train } from './trainer';

/** A small regression task: y = X·w* + b* + noise, with per-batch random feature dropout drawn from the batch generator. */
function regression(examples = 40, features = 5) {
  const rng = Prng.fromSeed(11);
  const x = rng.normalArray(examples * features, 1);
  const wStar = rng.normalArray(features, 1);
  const y = new Float32Array(examples);
  for (let i = 0; i < examples; i++) {
    let s = 0.3;
    for (let j = 0; j < features; j++) s += x[i * features + j] * wStar[j];
    y[i] = s + 0.01 * rng.nextNormal();
  }
  const makeParams = () =>
    new Map<string, tf.Variable>([
      ['linear.weight', tf.variable(tf.tensor2d(Prng.fromSeed(5).normalArray(features, 0.1), [features, 1]))],
      ['linear.bias', tf.variable(tf.zeros([1]))],
    ]);
  const loss = (params: Map<string, tf.Variable>, dropout: number) => (batch: { indices: readonly number[]; rng: Prng }) => {
    const rows = batch.indices.length;
    const xb = new Float32Array(rows * features);
    const yb = new Float32Array(rows);
    batch.indices.forEach((idx, r) => {
      for (let j = 0; j < features; j++) xb[r * features + j] = batch.rng.nextFloat() < dropout ? 0 : x[idx * features + j];
      yb[r] = y[idx];
    });
    const pred = tf.add(tf.matMul(tf.tensor2d(xb, [rows, features]), params.get('linear.weight') as tf.Variable), params.get('linear.bias') as tf.Variable);
    return tf.mean(tf.square(tf.sub(pred.reshape([rows]), tf.tensor1d(yb)))) as tf.Scalar;
  };
  return { makeParams, loss, examples };
}

const bytesOf = (params: Map<string, tf.Variable>) => [...params.values()].map((v) => Buffer.from(v.dataSync().buffer).toString('hex'));
const disposeAll = (params: Map<string, tf.Variable>) => tf.dispose([...params.values()]);

function options(task: ReturnType<typeof regression>, params: Map<string, tf.Variable>, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    params,
    examples: task.examples,
    loss: task.loss(params, 0.1),
    batchSize: 6,
    gradientAccumulationSteps: 2,
    maxSteps: 12,
    optimizer: { lr: 0.05, weightDecay: 0.01 },
    schedule: { kind: 'cosine', warmupSteps: 2 },
    maxGradNorm: 1,
    seed: 3,
    ...extra,
  };
}

describeEachBackend('train', () => {
  it('fits a regression and reports progress with the scheduled learning rate', async () => {
    const task = regression();
    const params = task.makeParams();
    const reports: TrainProgress[] = [];
    const result = await train({
      ...options(task, params, { maxSteps: 40, optimizer: { lr: 0.2 }, schedule: { kind: 'linear', warmupSteps: 4 } }),
      loss: task.loss(params, 0),
      onProgress: (p) => reports.push(p),
    });
    expect(result.steps).toBe(40);
    expect(result.stopReason).toBe('completed');
    expect(result.lossHistory[0].loss / (result.finalLoss as number)).toBeGreaterThan(20);
    expect(reports.map((r) => r.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // Step index 1 runs at 1/4 of the rate, step index 4 at the full rate, the last near 0.
    expect(reports[1].lr).toBeCloseTo(0.2 / 4, 12);
    expect(reports[4].lr).toBeCloseTo(0.2, 12);
    expect(reports[39].lr).toBeCloseTo(0.2 / 36, 12);
    expect(reports.every((r) => r.examplesPerSec > 0 && r.etaSec >= 0 && r.gradNorm > 0)).toBe(true);
    expect(reports[39].etaSec).toBe(0);
    expect(reports[39].epoch).toBeCloseTo((40 * 12) / 40, 9);
    expect(result.peakBytes).toBeGreaterThan(0);
    disposeAll(params);
  });

  it('leaves no tensors behind, per step and per run', async () => {
    const task = regression();
    const params = task.makeParams();
    const counts: number[] = [];
    await assertNoLeaks(() => train({ ...options(task, params), onProgress: () => counts.push(tf.memory().numTensors) }));
    // After the first step creates the AdamW moments, the live tensor count stays flat.
    expect(new Set(counts.slice(1)).size).toBe(1);
    disposeAll(params);
  });

  it('accumulating two micro-batches of 3 equals one batch of 6', async () => {
    const task = regression();
    const a = task.makeParams();
    const b = task.makeParams();
    await train({ ...options(task, a, { batchSize: 6, gradientAccumulationSteps: 1 }), loss: task.loss(a, 0) });
    await train({ ...options(task, b, { batchSize: 3, gradientAccumulationSteps: 2 }), loss: task.loss(b, 0) });
    const wa = a.get('linear.weight')?.dataSync() as Float32Array;
    const wb = b.get('linear.weight')?.dataSync() as Float32Array;
    wa.forEach((v, i) => expect(wb[i]).toBeCloseTo(v, 5));
    disposeAll(a);
    disposeAll(b);
  });

  it('is deterministic: the same seed gives the same bytes, another seed does not', async () => {
    const task = regression();
    const runs = [3, 3, 4].map(() => task.makeParams());
    for (const [i, seed] of [3, 3, 4].entries()) await train(options(task, runs[i], { seed }));
    expect(bytesOf(runs[1])).toEqual(bytesOf(runs[0]));
    expect(bytesOf(runs[2])).not.toEqual(bytesOf(runs[0]));
    runs.forEach(disposeAll);
  });

  it('resumes after an abort, and after a killed worker, bit-identically to an uninterrupted run', async () => {
    await withTempDir(async (root) => {
      const task = regression();
      const reference = task.makeParams();
      const full = await train(options(task, reference, { checkpoint: { dir: nodePath.join(root, 'a'), every: 3, keep: 10 } }));
      expect(await listCheckpoints(nodePath.join(root, 'a'))).toEqual([3, 6, 9, 12]);

      // Abort during step 8: the run rolls back to step 7 and checkpoints it.
      const dir = nodePath.join(root, 'b');
      const controller = new AbortController();
      const first = task.makeParams();
      const aborted = train({
        ...options(task, first, { checkpoint: { dir, every: 5 } }),
        onProgress: (p) => {
          if (p.step === 7) setImmediate(() => controller.abort('stop requested'));
        },
        signal: controller.signal,
      });
      await expect(aborted).rejects.toMatchObject({ code: 'CANCELLED', message: expect.stringMatching(/after step 7 of 12: stop requested; resume from .*checkpoint-7/) });
      expect(await listCheckpoints(dir)).toEqual([5, 7]);
      disposeAll(first);

      const second = task.makeParams();
      const resumed = await train(options(task, second, { checkpoint: { dir, every: 5 } }));
      expect(resumed.resumedFromStep).toBe(7);
      expect(resumed.steps).toBe(12);
      expect(bytesOf(second)).toEqual(bytesOf(reference));
      expect(resumed.lossHistory).toEqual(full.lossHistory);
      // A finished run resumes to nothing left to do, and keeps its parameters.
      const done = await train(options(task, second, { checkpoint: { dir, every: 5 } }));
      expect(done).toMatchObject({ steps: 12, resumedFromStep: 12, finalLoss: full.finalLoss });
      expect(bytesOf(second)).toEqual(bytesOf(reference));

      // A killed worker leaves only its periodic checkpoints: continue from step 6 of run a.
      const killed = nodePath.join(root, 'c');
      await cp(nodePath.join(root, 'a', 'checkpoint-6'), nodePath.join(killed, 'checkpoint-6'), { recursive: true });
      const third = task.makeParams();
      const continued = await train(options(task, third, { checkpoint: { dir: killed, every: 3 } }));
      expect(continued.resumedFromStep).toBe(6);
      expect(bytesOf(third)).toEqual(bytesOf(reference));
      [reference, second, third].forEach(disposeAll);
    });
  });

  it('refuses a checkpoint from a different recipe, and starts over when asked', async () => {
    await withTempDir(async (dir) => {
      const task = regression();
      const params = task.makeParams();
      await train(options(task, params, { maxSteps: 2, checkpoint: { dir, every: 1 } }));
      const err = await train(options(task, params, { maxSteps: 2, seed: 9, checkpoint: { dir, every: 1 } })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PatchworkError);
      expect(err).toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(/seed differ/) });
      const fresh = await train(options(task, params, { maxSteps: 2, seed: 9, checkpoint: { dir, every: 1, resume: false } }));
      expect(fresh.resumedFromStep).toBeUndefined();
      expect((await readdir(dir)).sort()).toEqual(['checkpoint-1', 'checkpoint-2']);
      disposeAll(params);
    });
  });

  it('evaluates every N steps and stops early when the metric stops improving', async () => {
    const task = regression();
    const params = task.makeParams();
    const scores = [3, 2, 2.5, 2.1, 1];
    const result = await train({
      ...options(task, params, { maxSteps: 20 }),
      evaluation: { every: 2, run: ({ step }) => ({ eval_loss: scores[step / 2 - 1] }) },
      earlyStopping: { metric: 'eval_loss', mode: 'min', patience: 2 },
    });
    expect(result.stopReason).toBe('early_stopping');
    expect(result.steps).toBe(8);
    expect(result.evalHistory.map((e) => e.step)).toEqual([2, 4, 6, 8]);
    expect(result.best).toEqual({ step: 4, value: 2 });
    disposeAll(params);
  });

  it('rejects bad options, naming every problem', async () => {
    const task = regression();
    const params = task.makeParams();
    await expect(train({ ...options(task, params), batchSize: 0, maxSteps: undefined, optimizer: { lr: -1 }, earlyStopping: { metric: 'x', mode: 'min', patience: 1 } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/batchSize.*maxSteps.*optimizer.lr.*earlyStopping: needs evaluation/),
    });
    await expect(train({ ...options(task, params), loss: () => tf.zeros([2]) as unknown as tf.Scalar })).rejects.toThrow(/scalar/);
    const diverging = train({ ...options(task, params), loss: () => tf.scalar(NaN).add(tf.sum(params.get('linear.bias') as tf.Variable)) as tf.Scalar });
    await expect(diverging).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(/diverged/) });
    disposeAll(params);
  });
});
