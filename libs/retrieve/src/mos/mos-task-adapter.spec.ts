import { promises as fs } from 'node:fs';
import * as nodePath from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import { LoraAdapter } from '@patchwork/peft';
import { assertNoLeaks, initBackend, tf, withTempDir } from '@patchwork/tensor';
import { FAST_MOS } from '../testing/mos-fixture';
import { squares, tinyVit } from '../testing/tiny-vit';
import { AdapterCache } from '../serving/adapter-cache';
import { loadServableAdapter } from '../serving/load-servable';
import { RoutedPredictor } from '../serving/routed-predictor';
import { type ServableAdapter, adapterBytes } from '../serving/servable-adapter';
import { MOS_CONFIG_FILE, MOS_WEIGHTS_FILE } from './mos-io';
import { MosLearner } from './mos-learner';
import { MosTaskAdapter } from './mos-task-adapter';
import { MOS_TASK_PEFT_TYPE, loadMosTaskAdapter, readMosTaskConfig, saveMosAdapterSet, sha256OfFile } from './mos-task-io';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return e instanceof PatchworkError ? e.code : `not a PatchworkError: ${String(e)}`;
  }
  return undefined;
}

function softmaxRows(logits: Float32Array, cols: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / cols; r++) {
    const row = logits.subarray(r * cols, (r + 1) * cols);
    const max = Math.max(...row);
    const exp = row.map((v) => Math.exp(v - max));
    const sum = exp.reduce((a, b) => a + b, 0);
    exp.forEach((v, j) => (out[r * cols + j] = v / sum));
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('MOS task adapters [wasm]', () => {
  let model: Model;
  let learner: MosLearner;
  const test = squares([0, 1, 2, 3], 3, 41);
  let pixels: tf.Tensor4D;

  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    model = tinyVit(5);
    learner = MosLearner.create(model, FAST_MOS);
    await learner.learnTask(squares([0, 1], 16, 1));
    await learner.learnTask(squares([2, 3], 16, 2));
    pixels = tf.tensor4d(Float32Array.from(test.inputs.flatMap((x) => [...x])), [test.inputs.length, 1, 8, 8]);
  });

  afterAll(() => {
    pixels.dispose();
    learner.dispose();
    model.dispose();
  });

  it('gives the head logits MOS reads under that task adapter', async () => {
    for (const taskId of [0, 1]) {
      const adapter = MosTaskAdapter.fromLearner(learner, taskId);
      try {
        expect(adapter.classes).toEqual([0, 1, 2, 3]);
        expect(adapter.taskClasses).toEqual(taskId === 0 ? [0, 1] : [2, 3]);
        const logits = await assertNoLeaks(() => tf.tidy(() => model.forward({ pixelValues: pixels }, { patches: adapter.patches() }).logits.dataSync() as Float32Array));
        expect(logits.length).toBe(test.inputs.length * 4);
        const head = learner.predict(test.inputs, { taskId, ensemble: false }).scores;
        expect(maxAbsDiff(softmaxRows(logits, 4), head)).toBeLessThan(1e-5);
      } finally {
        adapter.dispose();
      }
    }
  });

  it('saves a set whose task adapters name their router, and loads them back identically', async () => {
    await withTempDir(async (dir) => {
      const set = await saveMosAdapterSet(learner, dir, { baseModelNameOrPath: 'tiny-vit' });
      expect(set.tasks).toEqual([nodePath.join(dir, 'task-0'), nodePath.join(dir, 'task-1')]);
      const digest = await sha256OfFile(nodePath.join(set.router, MOS_WEIGHTS_FILE));
      const config = await readMosTaskConfig(set.tasks[1]);
      expect(config).toMatchObject({ peft_type: MOS_TASK_PEFT_TYPE, task_id: 1, task_classes: [2, 3], classes: [0, 1, 2, 3], router_weights_sha256: digest, base_model_name_or_path: 'tiny-vit' });
      const fresh = MosTaskAdapter.fromLearner(learner, 1);
      const loaded = await loadMosTaskAdapter(set.tasks[1], model);
      const generic = await loadServableAdapter(set.tasks[1], model);
      try {
        const run = (a: ServableAdapter) => tf.tidy(() => model.forward({ pixelValues: pixels }, { patches: a.patches() }).logits.dataSync() as Float32Array);
        expect(Array.from(run(loaded))).toEqual(Array.from(run(fresh)));
        expect(generic).toBeInstanceOf(MosTaskAdapter);
        expect(adapterBytes(loaded)).toBe(fresh.numBytes);
      } finally {
        fresh.dispose();
        loaded.dispose();
        generic.dispose();
      }
      // The router is a learner, not something to predict through.
      expect(await codeOf(loadServableAdapter(set.router, model))).toBe('FAILED_PRECONDITION');
      // A damaged task adapter is refused naming the problem.
      const broken = nodePath.join(dir, 'broken');
      await fs.cp(set.tasks[0], broken, { recursive: true });
      await fs.writeFile(nodePath.join(broken, MOS_CONFIG_FILE), JSON.stringify({ ...config, task_id: -1 }));
      expect(await codeOf(loadMosTaskAdapter(broken, model))).toBe('INVALID_ARGUMENT');
      await fs.writeFile(nodePath.join(broken, MOS_CONFIG_FILE), JSON.stringify({ ...config, hidden_size: 32 }));
      expect(await codeOf(loadMosTaskAdapter(broken, model))).toBe('FAILED_PRECONDITION');
      await fs.writeFile(nodePath.join(broken, MOS_CONFIG_FILE), JSON.stringify({ ...config, classes: [0, 1, 2] }));
      expect(await codeOf(loadMosTaskAdapter(broken, model))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(loadServableAdapter(nodePath.join(dir, 'missing'), model))).toBe('NOT_FOUND');
    });
  });

  it('shares a forward pass between task adapters but not with adapters of another logits width', async () => {
    const adapters = new Map<string, ServableAdapter>([
      ['t0', MosTaskAdapter.fromLearner(learner, 0)],
      ['t1', MosTaskAdapter.fromLearner(learner, 1)],
      ['lora', LoraAdapter.create(model, { r: 2, lora_alpha: 4, target_modules: ['query', 'value'], init_lora_weights: false }, { seed: 1 })],
    ]);
    const cache = new AdapterCache<ServableAdapter>({ budgetBytes: 1e9, sizeOf: adapterBytes, load: async (id) => adapters.get(id) as ServableAdapter });
    const routed = new RoutedPredictor(model, cache);
    try {
      const rows = (i: number) => tf.slice(pixels, [i, 0, 0, 0], [2, 1, 8, 8]);
      const inputs = [0, 2, 4, 6].map((i) => ({ pixelValues: rows(i) }));
      const ids = ['t0', 't1', 'lora', null];
      const results = await routed.predictBatched(inputs.map((input, i) => ({ adapterId: ids[i], input })));
      // One pass for the two task adapters, one for the LoRA and the base (2 logits each).
      expect(routed.lastStats.forwards).toBe(2);
      expect(results.map((r) => r.shape)).toEqual([[2, 4], [2, 4], [2, 2], [2, 2]]);
      for (const [i, id] of ids.entries()) {
        const alone = tf.tidy(() => {
          const patches = id === null ? undefined : (adapters.get(id) as ServableAdapter).patches();
          return model.forward(inputs[i], { patches }).logits.dataSync() as Float32Array;
        });
        expect(maxAbsDiff(results[i].logits, alone)).toBeLessThan(1e-5);
      }
      tf.dispose(inputs.map((x) => x.pixelValues));
    } finally {
      for (const a of adapters.values()) a.dispose();
    }
  });
});
