import { PatchworkError } from '@patchwork/errors';
import { mosMomentumMerge } from '@patchwork/merge';
import type { Model } from '@patchwork/models';
import { assertNoLeaks, initBackend, tf } from '@patchwork/tensor';
import { squares, tinyVit } from '../testing/tiny-vit';
import { MosLearner } from './mos-learner';
import type { MosOptionsInput } from './mos-options';

const TASKS = [[0, 1], [2, 3], [4, 5]];
const FAST: MosOptionsInput = {
  adapter: { bottleneck: 4, scale: 0.5, dropout: 0 },
  training: { epochs: 10, batchSize: 16, lr: 5e-2, warmupSteps: 1 },
  alignment: { epochs: 20, samplesPerClass: 24, lr: 1e-2 },
  seed: 3,
};

function accuracy(predicted: ArrayLike<number>, truth: ArrayLike<number>): number {
  let hit = 0;
  for (let i = 0; i < truth.length; i++) if (predicted[i] === truth[i]) hit++;
  return hit / truth.length;
}

async function codeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (e) {
    return e instanceof PatchworkError ? e.code : `not a PatchworkError: ${String(e)}`;
  }
  return undefined;
}

describe('MosLearner on synthetic class-incremental tasks [wasm]', () => {
  let model: Model;
  let learner: MosLearner;
  const test = squares(TASKS.flat(), 6, 99);
  const testTasks = Int32Array.from(test.labels, (y) => TASKS.findIndex((t) => t.includes(y)));

  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    model = tinyVit(5);
    learner = MosLearner.create(model, { ...FAST, momentum: 0.3 });
    for (const [t, classes] of TASKS.entries()) {
      const before = tf.memory().numTensors;
      const learnt = await learner.learnTask(squares(classes, 24, t));
      expect(learnt).toMatchObject({ taskId: t, classes, steps: 10 * 3 });
      expect(learnt.alignmentSteps).toBe(t === 0 ? 0 : 20 * 2 * (t + 1));
      // A task leaves behind its inference adapter's 2 blocks x 4 variables (and the first one the head's 2).
      expect(tf.memory().numTensors - before).toBe(t === 0 ? 10 : 8);
    }
  });

  afterAll(() => {
    learner.dispose();
    model.dispose();
  });

  it('classifies every learnt class, through retrieval and with oracle task ids', async () => {
    expect(learner.numTasks).toBe(3);
    expect(learner.classes).toEqual([0, 1, 2, 3, 4, 5]);
    const retrieved = await assertNoLeaks(() => learner.predict(test.inputs));
    expect(accuracy(retrieved.labels, test.labels)).toBeGreaterThanOrEqual(0.9);
    const oracle = learner.predict(test.inputs, { taskId: testTasks });
    expect(accuracy(oracle.labels, test.labels)).toBeGreaterThanOrEqual(0.9);
    expect(Array.from(oracle.taskIds)).toEqual(Array.from(testTasks));
    expect(retrieved.scores.length).toBe(test.labels.length * 6);
  });

  it('retrieves task adapters within the iteration budget, with per-task scores', () => {
    const results = learner.retrieve(test.inputs);
    expect(accuracy(results.map((r) => r.taskId), testTasks)).toBeGreaterThanOrEqual(0.9);
    for (const r of results) {
      expect(r.iterations).toBeGreaterThanOrEqual(1);
      expect(r.iterations).toBeLessThanOrEqual(4);
      expect(r.refinements).toBe(r.iterations - 1);
      expect(r.scores.length).toBe(3);
      expect(Math.abs(r.scores.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
    }
    const once = learner.retrieve(test.inputs, { maxIterations: 1 });
    expect(once.every((r) => r.iterations === 1 && r.refinements === 0)).toBe(true);
  });

  it('merges each task adapter once, on a copy, and inference never moves it', () => {
    const trained = [0, 1, 2].map((k) => learner.trainedAdapter(k));
    const inference = () => [0, 1, 2].map((k) => learner.adapter(k).toArrays());
    const before = inference();
    for (const k of [0, 1, 2]) {
      const expected = mosMomentumMerge(trained[k], trained.slice(0, k), 0.3);
      for (const [name, values] of before[k]) expect(Array.from(values)).toEqual(Array.from(expected.get(name) as Float32Array));
    }
    // Task 0 has no earlier adapter; later ones are pulled toward the earlier ones' mean.
    expect([...before[0]].every(([name, v]) => v.every((x, i) => x === trained[0].get(name)?.[i]))).toBe(true);
    expect([...before[2]].some(([name, v]) => v.some((x, i) => x !== trained[2].get(name)?.[i]))).toBe(true);
    // Unlike the reference, choosing an adapter again and again does not re-merge it.
    const first = learner.predict(test.inputs);
    const second = learner.predict(test.inputs);
    expect(Array.from(second.scores)).toEqual(Array.from(first.scores));
    const after = inference();
    for (const k of [0, 1, 2]) for (const [name, values] of after[k]) expect(Array.from(values)).toEqual(Array.from(before[k].get(name) as Float32Array));
  });

  it('leaves the learner untouched when a task is cancelled, and refuses bad requests', async () => {
    const before = learner.predict(test.inputs);
    const controller = new AbortController();
    const cancelled = learner.learnTask(squares([6, 7], 24, 7), { signal: controller.signal, onProgress: (p) => p.step === 2 && controller.abort() });
    // A task in flight blocks predictions rather than exposing a half-grown head.
    expect(await codeOf(() => learner.predict(test.inputs))).toBe('UNAVAILABLE');
    expect(await codeOf(() => cancelled)).toBe('CANCELLED');
    expect(learner.numTasks).toBe(3);
    expect(learner.classes).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(learner.predict(test.inputs).scores)).toEqual(Array.from(before.scores));

    expect(await codeOf(() => learner.learnTask(squares([5, 6], 4, 1)))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => learner.learnTask({ inputs: [new Float32Array(10)], labels: [6] }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => learner.learnTask({ inputs: squares([6], 2, 1).inputs, labels: [6] }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => learner.predict(new Float32Array(65)))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => learner.predict(test.inputs, { taskId: 3 }))).toBe('OUT_OF_RANGE');
    expect(await codeOf(() => learner.predict(test.inputs, { maxIterations: 5 }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => learner.predict(test.inputs, { taskId: [0] }))).toBe('INVALID_ARGUMENT');
    const empty = MosLearner.create(model);
    expect(await codeOf(() => empty.predict(test.inputs))).toBe('FAILED_PRECONDITION');
    empty.dispose();
    expect(await codeOf(() => MosLearner.create(model, { momentum: 2, maxIterations: 0 }))).toBe('INVALID_ARGUMENT');
  });

  it('applies the training-time merge after every step when asked (β = 1 pins the adapter to the earlier mean)', async () => {
    const pinned = MosLearner.create(model, { ...FAST, trainingMomentum: 1, alignment: false });
    try {
      await pinned.learnTask(squares([0, 1], 16, 1));
      await pinned.learnTask(squares([2, 3], 16, 2));
      const [a0, a1] = [pinned.trainedAdapter(0), pinned.trainedAdapter(1)];
      for (const [name, values] of a1) expect(Array.from(values)).toEqual(Array.from(a0.get(name) as Float32Array));
    } finally {
      pinned.dispose();
    }
  });
});
