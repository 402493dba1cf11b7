import { promises as fs } from 'node:fs';
import * as nodePath from 'node:path';
import fc from 'fast-check';
import { PatchworkError } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import { initBackend, tf, withTempDir } from '@patchwork/tensor';
import { FAST_MOS } from '../testing/mos-fixture';
import { squares, tinyVit } from '../testing/tiny-vit';
import { MOS_CONFIG_FILE } from './mos-io';
import { MosLearner, type RetrievedTask } from './mos-learner';
import { MosRouter, imagesOf, rankRoutedTasks } from './mos-router';
import { loadMosRouter } from './mos-router-io';
import { saveMosAdapterSet } from './mos-task-io';

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e instanceof PatchworkError ? e.code : `not a PatchworkError: ${String(e)}`;
  }
  return undefined;
}

const retrievedArb = (tasks: number) =>
  fc.record({
    taskId: fc.integer({ min: 0, max: tasks - 1 }),
    weights: fc.array(fc.float({ min: Math.fround(0.01), max: 1, noNaN: true }), { minLength: tasks, maxLength: tasks }),
  }).map(({ taskId, weights }): RetrievedTask => {
    const sum = weights.reduce((a, b) => a + b, 0);
    return { taskId, scores: Float32Array.from(weights, (w) => w / sum), refinements: 0, iterations: 1, label: 0 };
  });

describe('rankRoutedTasks', () => {
  it('puts the chosen tasks first by votes, then by mean mass, and is order-independent', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((tasks) => fc.tuple(fc.constant(tasks), fc.array(retrievedArb(tasks), { minLength: 1, maxLength: 12 }))),
        ([tasks, rows]) => {
          const ranked = rankRoutedTasks(rows, tasks);
          expect(ranked.map((r) => r.taskId).sort()).toEqual(Array.from({ length: tasks }, (_, k) => k));
          expect(ranked.reduce((n, r) => n + r.votes, 0)).toBe(rows.length);
          expect(Math.abs(ranked.reduce((s, r) => s + r.score, 0) - 1)).toBeLessThan(1e-5);
          for (const r of ranked) {
            expect(r.votes).toBe(rows.filter((x) => x.taskId === r.taskId).length);
            expect(Math.abs(r.score - rows.reduce((s, x) => s + x.scores[r.taskId], 0) / rows.length)).toBeLessThan(1e-6);
          }
          for (let i = 1; i < ranked.length; i++) {
            const [a, b] = [ranked[i - 1], ranked[i]];
            expect(a.votes > b.votes || (a.votes === b.votes && a.score >= b.score)).toBe(true);
          }
          // Row order only changes float rounding, so only near-ties may swap.
          rankRoutedTasks([...rows].reverse(), tasks).forEach((r, i) => {
            expect(r.votes).toBe(ranked[i].votes);
            expect(Math.abs(r.score - ranked[i].score)).toBeLessThan(1e-6);
          });
          if (rows.length === 1) expect(ranked[0].taskId).toBe(rows[0].taskId);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses rows that do not fit the task count', async () => {
    const row: RetrievedTask = { taskId: 2, scores: new Float32Array(2), refinements: 0, iterations: 1, label: 0 };
    expect(await codeOf(() => rankRoutedTasks([row], 2))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => rankRoutedTasks([{ ...row, taskId: 0 }], 3))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => rankRoutedTasks([], 2))).toBe('INVALID_ARGUMENT');
  });
});

describe('MosRouter [wasm]', () => {
  let model: Model;
  let learner: MosLearner;
  const test = squares([0, 1, 2, 3, 4, 5], 3, 77);

  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    model = tinyVit(5);
    learner = MosLearner.create(model, FAST_MOS);
    for (const [t, classes] of [[0, 1], [2, 3], [4, 5]].entries()) await learner.learnTask(squares(classes, 16, t));
  });

  afterAll(() => {
    learner.dispose();
    model.dispose();
  });

  it("routes each image to the adapter of the learner's self-refined choice", () => {
    const router = new MosRouter(learner, ['a', 'b', 'c']);
    const routes = router.routeImages(test.inputs);
    const retrieved = learner.retrieve(test.inputs);
    expect(routes.map((r) => r.taskId)).toEqual(retrieved.map((r) => r.taskId));
    expect(routes.map((r) => r.adapterId)).toEqual(retrieved.map((r) => ['a', 'b', 'c'][r.taskId]));
    for (const r of routes) expect(r.ranked[0].adapterId).toBe(r.adapterId);
    // Routing is right on these separable tasks.
    const truth = Array.from(test.labels, (y) => Math.floor(y / 2));
    expect(routes.filter((r, i) => r.taskId === truth[i]).length / truth.length).toBeGreaterThanOrEqual(0.9);
    // One image taken as a request ranks like its own route.
    expect(router.rank(test.inputs[4]).map((r) => r.adapterId)).toEqual(routes[4].ranked.map((r) => r.adapterId));
    const pixels = tf.tensor4d(test.inputs[4], [1, 1, 8, 8]);
    expect(Array.from(imagesOf({ pixelValues: pixels }, 'inputs'))).toEqual(Array.from(test.inputs[4]));
    pixels.dispose();
  });

  it('needs one distinct adapter per task', async () => {
    expect(await codeOf(() => new MosRouter(learner, ['a', 'b']))).toBe('FAILED_PRECONDITION');
    expect(await codeOf(() => new MosRouter(learner, ['a', 'a', 'b']))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => new MosRouter(learner, ['a', '', 'b']))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => imagesOf({}, 'inputs'))).toBe('INVALID_ARGUMENT');
  });

  it('finds its task adapters among directories by the digest of the router weights', async () => {
    await withTempDir(async (dir) => {
      const set = await saveMosAdapterSet(learner, nodePath.join(dir, 'set'));
      const other = MosLearner.create(model, { ...FAST_MOS, seed: 9 });
      await other.learnTask(squares([0, 1], 8, 1));
      const foreign = await saveMosAdapterSet(other, nodePath.join(dir, 'foreign'));
      other.dispose();
      const shuffled = [set.tasks[2], foreign.tasks[0], set.tasks[0], set.tasks[1]];
      const loaded = await loadMosRouter(set.router, shuffled, model);
      try {
        expect(loaded.router.adapterIds).toEqual(set.tasks);
        expect(loaded.unmatched).toEqual([foreign.tasks[0]]);
        expect(loaded.router.routeImages(test.inputs).map((r) => r.taskId)).toEqual(learner.retrieve(test.inputs).map((r) => r.taskId));
      } finally {
        loaded.router.dispose();
      }
      expect(await codeOf(loadMosRouter(set.router, [set.tasks[0], set.tasks[2]], model))).toBe('FAILED_PRECONDITION');
      const copy = nodePath.join(dir, 'copy');
      await fs.cp(set.tasks[1], copy, { recursive: true });
      expect(await codeOf(loadMosRouter(set.router, [...set.tasks, copy], model))).toBe('FAILED_PRECONDITION');
      const config = JSON.parse(await fs.readFile(nodePath.join(copy, MOS_CONFIG_FILE), 'utf8'));
      await fs.writeFile(nodePath.join(copy, MOS_CONFIG_FILE), JSON.stringify({ ...config, task_id: 7 }));
      expect(await codeOf(loadMosRouter(set.router, [...set.tasks, copy], model))).toBe('FAILED_PRECONDITION');
    });
  });
});
