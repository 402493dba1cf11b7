// The acceptance experiment of the retrieve issue: class-incremental Split-Digits (5 tasks x 2
// digits) on the vit-digits backbone (pretrained on digits 0-4). Compares MOS against a
// prototype classifier on the frozen backbone, one shared adapter fine-tuned task after task, and
// MOS with oracle task ids; measures retrieval accuracy with and without self-refinement.
// Run from the repository root:
//   npx tsx libs/retrieve/bench/split-digits.ts [--data-dir DIR] [--seeds 0,1] [--epochs N] [--backend wasm|cpu]
import { cachedBackbone } from '@patchwork/backbones';
import { type ImageTaskSplits, type Split, loadTaskSequence } from '@patchwork/datasets';
import { type Model, loadModel } from '@patchwork/models';
import {
  BottleneckAdapter,
  DEFAULT_TASK_TRAINING,
  LinearHead,
  MosLearner,
  type MosOptionsInput,
  PrototypeClassifier,
  featuresOf,
  imageGeometry,
  trainTask,
} from '../src';
import { type BackendChoice, initBackend, shutdownBackends, tf } from '@patchwork/tensor';
import { registerWasmMatMulFastPath } from '@patchwork/training';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { parseArgs } from 'node:util';

interface StageAccuracies {
  /** Accuracy on the union of the seen tasks' test sets after each task. */
  readonly stages: number[];
}

const avg = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x: number) => (100 * x).toFixed(1);

function seenTest(tasks: readonly ImageTaskSplits[], upTo: number): { inputs: Float32Array[]; labels: Int32Array; taskIds: Int32Array } {
  const inputs: Float32Array[] = [];
  const labels: number[] = [];
  const taskIds: number[] = [];
  for (let t = 0; t <= upTo; t++) {
    const s: Split<Float32Array> = tasks[t].test;
    inputs.push(...s.inputs);
    labels.push(...s.labels);
    taskIds.push(...s.inputs.map(() => t));
  }
  return { inputs, labels: Int32Array.from(labels), taskIds: Int32Array.from(taskIds) };
}

function accuracy(predicted: ArrayLike<number>, truth: ArrayLike<number>): number {
  let hit = 0;
  for (let i = 0; i < truth.length; i++) if (predicted[i] === truth[i]) hit++;
  return hit / truth.length;
}

/** Baseline 1: SimpleCIL, the cosine prototype classifier on the frozen backbone (no adapters). */
function prototypesOnBackbone(model: Model, tasks: readonly ImageTaskSplits[]): StageAccuracies {
  const geometry = imageGeometry(model);
  const protos = new PrototypeClassifier(model.hiddenSize);
  const stages: number[] = [];
  tasks.forEach((task, t) => {
    protos.addClasses(featuresOf(model, task.train.inputs, geometry, task.train.inputs.length), task.train.labels);
    const test = seenTest(tasks, t);
    const f = featuresOf(model, test.inputs, geometry, test.inputs.length);
    const predicted = tf.tidy(() => protos.predict(tf.tensor2d(f, [test.inputs.length, model.hiddenSize])));
    stages.push(accuracy(predicted, test.labels));
  });
  return { stages };
}

/** Baseline 2: one adapter and a growing head fine-tuned on each task in turn (no merge, no per-task adapters, no alignment). */
async function sharedAdapter(model: Model, tasks: readonly ImageTaskSplits[], epochs: number, seed: number): Promise<StageAccuracies> {
  const geometry = imageGeometry(model);
  const adapter = BottleneckAdapter.create(model, undefined, seed);
  const head = new LinearHead(model.hiddenSize, seed + 1);
  const classes: number[] = [];
  const stages: number[] = [];
  try {
    for (let t = 0; t < tasks.length; t++) {
      const train = tasks[t].train;
      const newClasses = [...new Set(train.labels)];
      const first = classes.length;
      head.grow(newClasses.length);
      classes.push(...newClasses);
      await trainTask({
        model,
        adapter,
        head,
        inputs: train.inputs,
        geometry,
        targets: Int32Array.from(train.labels, (y) => first + newClasses.indexOf(y)),
        columns: [first, first + newClasses.length],
        options: { ...DEFAULT_TASK_TRAINING, epochs, orthogonalityWeight: 0 },
        seed: seed + 1000 * (t + 1),
      });
      const test = seenTest(tasks, t);
      const f = featuresOf(model, test.inputs, geometry, test.inputs.length, () => adapter.patches());
      const best = tf.tidy(() => tf.argMax(head.logits(tf.tensor2d(f, [test.inputs.length, model.hiddenSize])), 1).dataSync());
      stages.push(accuracy(Int32Array.from(best, (c) => classes[c]), test.labels));
    }
  } finally {
    adapter.dispose();
    head.dispose();
  }
  return { stages };
}

interface MosRun {
  readonly mos: StageAccuracies;
  readonly oracle: StageAccuracies;
  readonly headOnly: StageAccuracies;
  readonly noRefine: StageAccuracies;
  /** Retrieval accuracy (right task adapter) per stage, with and without self-refinement. */
  readonly retrieval: number[];
  readonly retrievalNoRefine: number[];
  readonly meanRefinements: number;
  readonly trainSeconds: number;
}

async function mosRun(model: Model, tasks: readonly ImageTaskSplits[], options: MosOptionsInput): Promise<MosRun> {
  const learner = MosLearner.create(model, options);
  const out = { mos: [] as number[], oracle: [] as number[], headOnly: [] as number[], noRefine: [] as number[], retrieval: [] as number[], retrievalNoRefine: [] as number[] };
  let refinements = 0;
  let trainSeconds = 0;
  try {
    for (let t = 0; t < tasks.length; t++) {
      const started = Date.now();
      await learner.learnTask(tasks[t].train);
      trainSeconds += (Date.now() - started) / 1000;
      const test = seenTest(tasks, t);
      out.mos.push(accuracy(learner.predict(test.inputs).labels, test.labels));
      out.oracle.push(accuracy(learner.predict(test.inputs, { taskId: test.taskIds }).labels, test.labels));
      out.headOnly.push(accuracy(learner.predict(test.inputs, { ensemble: false }).labels, test.labels));
      out.noRefine.push(accuracy(learner.predict(test.inputs, { maxIterations: 1 }).labels, test.labels));
      const refined = learner.retrieve(test.inputs);
      out.retrieval.push(accuracy(refined.map((r) => r.taskId), test.taskIds));
      out.retrievalNoRefine.push(accuracy(learner.retrieve(test.inputs, { maxIterations: 1 }).map((r) => r.taskId), test.taskIds));
      if (t === tasks.length - 1) refinements = avg(refined.map((r) => r.refinements));
    }
  } finally {
    learner.dispose();
  }
  return {
    mos: { stages: out.mos },
    oracle: { stages: out.oracle },
    headOnly: { stages: out.headOnly },
    noRefine: { stages: out.noRefine },
    retrieval: out.retrieval,
    retrievalNoRefine: out.retrievalNoRefine,
    meanRefinements: refinements,
    trainSeconds,
  };
}

function meanOverSeeds(runs: readonly StageAccuracies[]): { avgInc: number; last: number; stages: number[] } {
  const stages = runs[0].stages.map((_, t) => avg(runs.map((r) => r.stages[t])));
  return { avgInc: avg(stages), last: stages[stages.length - 1], stages };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string', default: nodePath.join(os.tmpdir(), 'patchwork-retrieve-data') },
      backend: { type: 'string', default: 'wasm' },
      seeds: { type: 'string', default: '0,1' },
      epochs: { type: 'string', default: String(DEFAULT_TASK_TRAINING.epochs) },
      'training-momentum': { type: 'string' },
      'prototype-features': { type: 'string' },
      'mos-only': { type: 'boolean', default: false },
    },
  });
  const started = Date.now();
  const info = await initBackend({ backend: values.backend as BackendChoice });
  registerWasmMatMulFastPath();
  console.log(`backend ${info.name} (${info.device}, ${info.threads} thread(s)); ${os.cpus().length} CPU(s)`);
  const backbone = await cachedBackbone('vit-digits', { dataDir: values['data-dir'] as string, onProgress: (p) => console.log(`[vit-digits] ${p.phase}: ${p.message}`) });
  console.log(`backbone ${backbone.dir} (${backbone.cached ? 'cached' : `built in ${backbone.seconds.toFixed(0)} s`}; held-out accuracy on digits 0-4 ${pct(backbone.metrics.accuracy ?? Number.NaN)}%)`);
  const model = await loadModel(backbone.dir);
  const tasks = loadTaskSequence('split-digits') as ImageTaskSplits[];
  const seeds = (values.seeds as string).split(',').map(Number);
  const epochs = Number(values.epochs);
  console.log(`tasks: ${tasks.map((t) => `${t.name} (${t.train.labels.length} train / ${t.test.labels.length} test)`).join(', ')}; ${epochs} epochs per task; seeds ${seeds.join(', ')}`);

  const protoRuns: StageAccuracies[] = [];
  const sharedRuns: StageAccuracies[] = [];
  const mosRuns: MosRun[] = [];
  const freeRuns: MosRun[] = [];
  const extra: MosOptionsInput = {
    ...(values['training-momentum'] === undefined ? {} : { trainingMomentum: Number(values['training-momentum']) }),
    ...(values['prototype-features'] === undefined ? {} : { prototypeFeatures: values['prototype-features'] as 'backbone' | 'first-adapter' }),
  };
  const t0 = Date.now();
  protoRuns.push(prototypesOnBackbone(model, tasks));
  console.log(`prototypes on the frozen backbone: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const seed of seeds) {
    let t = Date.now();
    if (!values['mos-only']) {
      sharedRuns.push(await sharedAdapter(model, tasks, epochs, seed));
      console.log(`seed ${seed}: shared adapter ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    t = Date.now();
    mosRuns.push(await mosRun(model, tasks, { seed, training: { epochs }, ...extra }));
    console.log(`seed ${seed}: MOS ${((Date.now() - t) / 1000).toFixed(1)} s (training ${mosRuns[mosRuns.length - 1].trainSeconds.toFixed(1)} s)`);
    if (seed === seeds[0] && !values['mos-only']) {
      t = Date.now();
      freeRuns.push(await mosRun(model, tasks, { seed, training: { epochs }, ...extra, trainingMomentum: 0 }));
      console.log(`seed ${seed}: MOS without the per-step merge ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
  }

  type Row = [string, { avgInc: number; last: number; stages: number[] }];
  const rows: Row[] = [
    ['No adapters: prototypes on the frozen backbone (SimpleCIL)', meanOverSeeds(protoRuns)],
    ...(sharedRuns.length === 0 ? [] : [['One shared adapter fine-tuned sequentially', meanOverSeeds(sharedRuns)] as Row]),
    ['MOS (self-refined retrieval + ensemble + alignment)', meanOverSeeds(mosRuns.map((r) => r.mos))],
    ['MOS with oracle task ids', meanOverSeeds(mosRuns.map((r) => r.oracle))],
    ['MOS without self-refinement (prototypes pick the adapter)', meanOverSeeds(mosRuns.map((r) => r.noRefine))],
    ['MOS without the logit ensemble (head only)', meanOverSeeds(mosRuns.map((r) => r.headOnly))],
    ...freeRuns.flatMap((r): Row[] => [
      [`MOS, adapters trained without the per-step merge (seed ${seeds[0]} only)`, meanOverSeeds([r.mos])],
      [`  the same with oracle task ids (seed ${seeds[0]} only)`, meanOverSeeds([r.oracle])],
    ]),
  ];
  console.log('\n| method | Ā (avg incremental acc) | A_last | per stage |');
  console.log('|---|---|---|---|');
  for (const [name, r] of rows) console.log(`| ${name} | ${pct(r.avgInc)} | ${pct(r.last)} | ${r.stages.map(pct).join(' / ')} |`);
  const refined = meanOverSeeds(mosRuns.map((r) => ({ stages: r.retrieval })));
  const plain = meanOverSeeds(mosRuns.map((r) => ({ stages: r.retrievalNoRefine })));
  console.log('\n| retrieval (right task adapter) | mean over stages | last stage | per stage |');
  console.log('|---|---|---|---|');
  console.log(`| with self-refinement (≤ 4 head evaluations) | ${pct(refined.avgInc)} | ${pct(refined.last)} | ${refined.stages.map(pct).join(' / ')} |`);
  console.log(`| without (prototype classifier only) | ${pct(plain.avgInc)} | ${pct(plain.last)} | ${plain.stages.map(pct).join(' / ')} |`);
  for (const r of freeRuns) {
    const free = meanOverSeeds([{ stages: r.retrieval }]);
    console.log(`| with self-refinement, adapters trained without the per-step merge (seed ${seeds[0]} only) | ${pct(free.avgInc)} | ${pct(free.last)} | ${free.stages.map(pct).join(' / ')} |`);
  }
  console.log(`\nmean refinements per input at the last stage: ${avg(mosRuns.map((r) => r.meanRefinements)).toFixed(2)}; test images per stage: ${tasks.map((_, t) => seenTest(tasks, t).labels.length).join(' / ')}`);
  console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
  model.dispose();
  shutdownBackends();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
