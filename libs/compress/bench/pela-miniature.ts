/**
 * PELA's claim in miniature, on our backbones and real tasks: at gamma = 2 the distilled low-rank
 * model, fine-tuned on a downstream task, should land within ~1 point of the dense model
 * fine-tuned the same way. Conditions: dense, factored only, factored + distilled (full
 * objective), and the ablations without each loss term. Every condition is then fully fine-tuned
 * with the same recipe and a fresh head (same seeds), and scored on the task's test split.
 *
 *   npx tsx libs/compress/bench/pela-miniature.ts [--data DIR] [--backbones vit-digits,bert-tiny,gpt2-tiny]
 *       [--distill-steps 300] [--finetune-steps 300] [--seeds 3] [--gamma 2]
 *       [--alpha 1] [--beta 1] [--distill-lr 1e-3] [--distill-batch 32] [--only dense,distilled,...]
 *
 * vit-digits (pre-trained on digits 0-4): distilled on its own pre-training images with their
 * labels (task CE + FD + WP, as PELA uses ImageNet for DeiT), fine-tuned on all 10 digits.
 * bert-tiny (MLM on Moby Dick + State of the Union): distilled on that text (FD + WP; the model
 * class has no MLM loss here), fine-tuned on SpamAssassin spam vs ham.
 * gpt2-tiny (causal LM on Moby Dick + State of the Union): distilled on Moby Dick (LM + FD + WP),
 * fine-tuned as an LM on the ham mails (a new domain), scored by test perplexity (lower is better).
 */
import { cachedBackbone, digitPixelValues } from '@patchwork/backbones';
import { type ImageTaskSplits, type TextTaskSplits, loadTask, textCorpus } from '@patchwork/datasets';
import { type DistillDataset, type DistillOptions, LowRankModel, distill, factorizeModel, namedDistillDataset, teacherKernels, tensorDataset } from '../src';
import { type Model, type ModelInputs, type RawConfig, createModel, loadModel, readModelConfig } from '@patchwork/models';
import { SeededRandom, initBackend, tf } from '@patchwork/tensor';
import { loadTokenizer } from '@patchwork/tokenizers';
import { causalLmLabels, causalLmLoss, classificationLoss, registerWasmMatMulFastPath, train } from '@patchwork/training';
import * as nodePath from 'node:path';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const DATA = flag('data', '/tmp/patchwork-compress-data');
const DISTILL_STEPS = Number(flag('distill-steps', '300'));
const FINETUNE_STEPS = Number(flag('finetune-steps', '300'));
const SEEDS = Number(flag('seeds', '3'));
const GAMMA = Number(flag('gamma', '2'));
const ALPHA = Number(flag('alpha', '1'));
const BETA = Number(flag('beta', '1'));
const DISTILL_LR = Number(flag('distill-lr', '1e-3'));
const DISTILL_BATCH = Number(flag('distill-batch', '32'));
/** Condition keys to run (default all): dense, factored, distilled, no-fd, no-wp, no-task. */
const ONLY = flag('only', '')
  .split(',')
  .filter((x) => x !== '');

/** A labelled downstream split as stacked tensors (the caller disposes). */
interface Labelled {
  readonly inputs: { inputIds?: tf.Tensor; attentionMask?: tf.Tensor; pixelValues?: tf.Tensor };
  readonly labels: tf.Tensor1D;
  readonly count: number;
}

interface Downstream {
  readonly name: string;
  readonly labelNames: readonly string[];
  readonly train: Labelled;
  readonly test: Labelled;
  readonly batchSize: number;
  readonly lr: number;
  readonly weightDecay: number;
}

interface Condition {
  readonly key: string;
  readonly name: string;
  readonly distill?: Partial<DistillOptions>;
}

const CONDITIONS: readonly Condition[] = [
  { key: 'dense', name: 'dense' },
  { key: 'factored', name: 'factored only' },
  { key: 'distilled', name: 'factored + distilled (task+FD+WP)', distill: {} },
  { key: 'no-fd', name: '  ablation: no FD (alpha 0)', distill: { alpha: 0 } },
  { key: 'no-wp', name: '  ablation: no WP (beta 0)', distill: { beta: 0 } },
  { key: 'no-task', name: '  ablation: no task term', distill: { taskWeight: 0 } },
];

const rowsOf = (t: tf.Tensor | undefined, rows: tf.Tensor1D): tf.Tensor | undefined => (t === undefined ? undefined : tf.gather(t, rows));

function slice(set: Labelled, indices: readonly number[]): { inputs: ModelInputs; labels: tf.Tensor } {
  const rows = tf.tensor1d(Int32Array.from(indices), 'int32');
  const out = { inputs: { inputIds: rowsOf(set.inputs.inputIds, rows), attentionMask: rowsOf(set.inputs.attentionMask, rows), pixelValues: rowsOf(set.inputs.pixelValues, rows) }, labels: tf.gather(set.labels, rows) };
  rows.dispose();
  return out;
}

/** A config and weights with a fresh classification head of `labels` classes (same init for every condition). */
function withHead(config: RawConfig, weights: ReadonlyMap<string, tf.Tensor>, labels: readonly string[], seed: number): { config: RawConfig; params: Map<string, tf.Tensor> } {
  const params = new Map<string, tf.Tensor>();
  for (const [k, t] of weights) if (!k.startsWith('classifier.')) params.set(k, tf.clone(t));
  const hidden = (weights.get('classifier.weight') as tf.Tensor).shape[1] as number;
  const rng = new SeededRandom(seed);
  params.set('classifier.weight', tf.tensor2d(rng.fillGaussian(new Float32Array(labels.length * hidden)).map((x) => 0.02 * x), [labels.length, hidden]));
  params.set('classifier.bias', tf.zeros([labels.length]));
  const id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
  const label2id = Object.fromEntries(labels.map((l, i) => [l, i]));
  return { config: { ...config, id2label, label2id, num_labels: labels.length }, params };
}

interface Runner {
  forward(inputs: ModelInputs): tf.Tensor;
  readonly variables: Map<string, tf.Variable>;
  dispose(): void;
}

/** A fully trainable copy (every parameter, factors included) of a dense or low-rank model, optionally with another config and dense parameters. */
function trainableCopy(source: Model | LowRankModel, config: RawConfig, params: Map<string, tf.Tensor>): Runner {
  if (source instanceof LowRankModel) {
    const factors = new Map([...source.factors.keys()].map((m) => [m, source.storedFactors(m)]));
    const assembled = LowRankModel.assemble(config, params, factors, source.settings);
    const trainable = assembled.withVariables('all');
    assembled.dispose();
    return { forward: (x) => trainable.forward(x).logits, variables: trainable.variables(), dispose: () => trainable.dispose() };
  }
  const vars = new Map([...params].map(([k, t]) => [k, tf.variable(t, true)]));
  tf.dispose([...params.values()]);
  const model = createModel(config, vars);
  return { forward: (x) => model.forward(x).logits, variables: vars, dispose: () => model.dispose() };
}

const configOf = (source: Model | LowRankModel): RawConfig => (source instanceof LowRankModel ? source.model.config : source.config);

/** Fully fine-tunes a dense model or a low-rank one with a fresh head, returns test accuracy. */
async function fineTuneAccuracy(source: Model | LowRankModel, task: Downstream, seed: number): Promise<number> {
  const { config, params } = withHead(configOf(source), source.weights, task.labelNames, 1000 + seed);
  const runner = trainableCopy(source, config, params);
  try {
    await train({
      params: runner.variables,
      examples: task.train.count,
      batchSize: task.batchSize,
      maxSteps: FINETUNE_STEPS,
      optimizer: { lr: task.lr, weightDecay: task.weightDecay },
      schedule: { kind: 'cosine', warmupRatio: 0.1 },
      seed,
      loss: ({ indices }) => {
        const b = slice(task.train, indices);
        return classificationLoss(runner.forward(b.inputs), b.labels);
      },
    });
    let correct = 0;
    for (let start = 0; start < task.test.count; start += 128) {
      const idx = Array.from({ length: Math.min(128, task.test.count - start) }, (_, i) => start + i);
      const [predicted, truth] = tf.tidy(() => {
        const b = slice(task.test, idx);
        return [tf.argMax(runner.forward(b.inputs), -1).dataSync(), b.labels.dataSync()];
      });
      predicted.forEach((p, i) => (correct += p === truth[i] ? 1 : 0));
    }
    return (100 * correct) / task.test.count;
  } finally {
    runner.dispose();
  }
}

/** Fully fine-tunes a causal LM on `train` blocks, returns the perplexity of the `test` blocks. */
async function fineTunePerplexity(source: Model | LowRankModel, trainSet: DistillDataset, testSet: DistillDataset, seed: number): Promise<number> {
  const runner = trainableCopy(source, configOf(source), new Map([...source.weights].map(([k, t]) => [k, tf.clone(t)])));
  const lmLoss = (indices: readonly number[], set: DistillDataset): tf.Scalar => {
    const { inputs } = set.batch(indices);
    return causalLmLoss(runner.forward(inputs), causalLmLabels(inputs.inputIds as tf.Tensor, inputs.attentionMask));
  };
  try {
    await train({
      params: runner.variables,
      examples: trainSet.size,
      batchSize: 8,
      maxSteps: FINETUNE_STEPS,
      optimizer: { lr: 1e-3, weightDecay: 0.01 },
      schedule: { kind: 'cosine', warmupRatio: 0.1 },
      seed,
      loss: ({ indices }) => lmLoss(indices, trainSet),
    });
    // Every test block is full (no padding), so the mean of the per-batch means is the per-token mean.
    let total = 0;
    let batches = 0;
    for (let start = 0; start < testSet.size; start += 32) {
      const idx = Array.from({ length: Math.min(32, testSet.size - start) }, (_, i) => start + i);
      total += tf.tidy(() => lmLoss(idx, testSet).dataSync()[0]) * idx.length;
      batches += idx.length;
    }
    return Math.exp(total / batches);
  } finally {
    runner.dispose();
  }
}

function digitsLabelled(split: ImageTaskSplits['train'], keep?: readonly number[]): Labelled {
  const rows = split.labels.reduce<number[]>((acc, y, i) => (keep === undefined || keep.includes(y) ? [...acc, i] : acc), []);
  const pixels = new Float32Array(rows.length * 64);
  rows.forEach((r, i) => pixels.set(split.inputs[r], i * 64));
  const labels = Int32Array.from(rows, (r) => (keep === undefined ? split.labels[r] : keep.indexOf(split.labels[r])));
  return { inputs: { pixelValues: digitPixelValues(pixels, rows.length) }, labels: tf.tensor1d(labels, 'int32'), count: rows.length };
}

/** One backbone's measurement: its distillation data and how a (compressed) model is scored downstream. */
interface BackboneBench {
  readonly dir: string;
  readonly distillData: DistillDataset & { dispose(): void };
  /** Whether the model has a task loss on the distillation data (bert-tiny's class has no MLM head). */
  readonly hasTaskTerm: boolean;
  readonly downstream: string;
  readonly metric: string;
  readonly lowerIsBetter: boolean;
  score(source: Model | LowRankModel, seed: number): Promise<number>;
  dispose(): void;
}

const disposeTask = (task: Downstream): void =>
  tf.dispose([task.train.labels, task.test.labels, ...Object.values(task.train.inputs), ...Object.values(task.test.inputs)].filter((t): t is tf.Tensor => t !== undefined));

async function vitSetup(): Promise<BackboneBench> {
  const built = await cachedBackbone('vit-digits', { dataDir: DATA });
  const digits = loadTask('digits', { seed: 0 }) as ImageTaskSplits;
  // The backbone's own pre-training data: digits 0-4 of the train split with their labels.
  const pre = digitsLabelled(digits.train, [0, 1, 2, 3, 4]);
  const distillData = tensorDataset({ pixelValues: pre.inputs.pixelValues, labels: pre.labels });
  const task: Downstream = { name: 'digits (10 classes)', labelNames: digits.labelNames, train: digitsLabelled(digits.train), test: digitsLabelled(digits.test), batchSize: 32, lr: 2e-3, weightDecay: 0.05 };
  return {
    dir: built.dir,
    distillData,
    hasTaskTerm: true,
    downstream: `${task.name}, ${task.train.count} train / ${task.test.count} test`,
    metric: 'test acc %',
    lowerIsBetter: false,
    score: (source, seed) => fineTuneAccuracy(source, task, seed),
    dispose: () => disposeTask(task),
  };
}

async function bertSetup(): Promise<BackboneBench> {
  const built = await cachedBackbone('bert-tiny', { dataDir: DATA });
  const tokenizer = await loadTokenizer(nodePath.join(built.dir, 'tokenizer.json'));
  const encode = (texts: readonly string[]) => {
    const batch = tokenizer.encodeBatch(texts, { padding: { length: 64 }, truncation: { maxLength: 64 } });
    return { inputIds: tf.tensor2d(batch.inputIds.flat(), [texts.length, 64], 'int32'), attentionMask: tf.tensor2d(batch.attentionMask.flat(), [texts.length, 64], 'int32') };
  };
  const paragraphs = [...textCorpus('moby-dick', { split: 'train', unit: 'paragraph' }), ...textCorpus('sotu', { split: 'train', unit: 'paragraph' })];
  const rng = new SeededRandom(3);
  const sample = Array.from({ length: 4096 }, () => paragraphs[rng.nextUint32() % paragraphs.length]);
  const distillData = tensorDataset(encode(sample));
  const spam = loadTask('spam', { seed: 0 }) as TextTaskSplits;
  const labelled = (split: TextTaskSplits['train']): Labelled => ({ inputs: encode(split.inputs), labels: tf.tensor1d(split.labels, 'int32'), count: split.inputs.length });
  const task: Downstream = { name: 'spam vs ham', labelNames: spam.labelNames, train: labelled(spam.train), test: labelled(spam.test), batchSize: 16, lr: 1e-3, weightDecay: 0.01 };
  return {
    dir: built.dir,
    distillData,
    hasTaskTerm: false,
    downstream: `${task.name}, ${task.train.count} train / ${task.test.count} test`,
    metric: 'test acc %',
    lowerIsBetter: false,
    score: (source, seed) => fineTuneAccuracy(source, task, seed),
    dispose: () => disposeTask(task),
  };
}

async function gpt2Setup(): Promise<BackboneBench> {
  const built = await cachedBackbone('gpt2-tiny', { dataDir: DATA });
  const config = await readModelConfig(built.dir);
  // Half of its pre-training text, in the model's own 64-token blocks.
  const distillData = await namedDistillDataset('moby-dick', built.dir, config, { maxLength: 64, maxExamples: 2048 });
  const trainSet = await namedDistillDataset('spam-ham', built.dir, config, { maxLength: 64, maxExamples: 1024 });
  const testSet = await namedDistillDataset('spam-ham', built.dir, config, { maxLength: 64, maxExamples: 256, split: 'test' });
  return {
    dir: built.dir,
    distillData,
    hasTaskTerm: true,
    downstream: `LM on ham mails, ${trainSet.size} train / ${testSet.size} test blocks of 64 tokens`,
    metric: 'test perplexity',
    lowerIsBetter: true,
    score: (source, seed) => fineTunePerplexity(source, trainSet, testSet, seed),
    dispose: () => {
      trainSet.dispose();
      testSet.dispose();
    },
  };
}

const SETUPS: Record<string, () => Promise<BackboneBench>> = { 'vit-digits': vitSetup, 'bert-tiny': bertSetup, 'gpt2-tiny': gpt2Setup };

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]): number => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

/** Mean over factored layers of ‖down·up − W‖_F / ‖W‖_F against the dense teacher. */
function meanRelError(teacher: Model, student: LowRankModel): number {
  const { kernels, copies } = teacherKernels(teacher, student);
  try {
    const errors = [...student.factors].map(([module, f]) =>
      tf.tidy(() => {
        const w = kernels.get(module) as tf.Tensor;
        return tf.div(tf.norm(tf.sub(tf.matMul(f.down, f.up), w)), tf.norm(w)).dataSync()[0];
      }),
    );
    return mean(errors);
  } finally {
    tf.dispose(copies);
  }
}

async function runBackbone(name: string): Promise<void> {
  const started = performance.now();
  const setup = SETUPS[name];
  if (setup === undefined) throw new Error(`unknown backbone ${name}; expected one of ${Object.keys(SETUPS).join(', ')}`);
  const bench = await setup();
  const teacher = await loadModel(bench.dir);
  const { lowRank, plan } = await factorizeModel(teacher, { gamma: GAMMA });
  console.log(
    `\n## ${name}: gamma ${GAMMA}, alpha ${ALPHA}, beta ${BETA}, distill lr ${DISTILL_LR} batch ${DISTILL_BATCH}, ${plan.layers.length} layers factored, params ${plan.paramsBefore} -> ${plan.paramsAfter} (${((100 * plan.paramsAfter) / plan.paramsBefore).toFixed(1)}%); ` +
      `downstream ${bench.downstream}; distill ${DISTILL_STEPS} steps on ${bench.distillData.size} examples, fine-tune ${FINETUNE_STEPS} steps x ${SEEDS} seeds`,
  );
  console.log(`| condition | params | mean rel. error of W | distill: task / FD / WP (first -> last) | ${bench.metric} (mean ± sd) | vs dense |`);
  console.log('|---|---|---|---|---|---|');
  const svdError = meanRelError(teacher, lowRank);
  let dense = NaN;
  for (const condition of CONDITIONS) {
    if (condition.distill?.taskWeight === 0 && !bench.hasTaskTerm) continue;
    if (ONLY.length > 0 && !ONLY.includes(condition.key)) continue;
    let source: Model | LowRankModel = condition.key === 'dense' ? teacher : lowRank;
    let terms = '';
    let error = condition.key === 'dense' ? '0' : svdError.toFixed(4);
    let trained: LowRankModel | undefined;
    if (condition.distill !== undefined) {
      const taskWeight = bench.hasTaskTerm ? (condition.distill.taskWeight ?? 1) : 0;
      const result = await distill(teacher, lowRank, { dataset: bench.distillData, steps: DISTILL_STEPS, batchSize: DISTILL_BATCH, optimizer: { lr: DISTILL_LR, weightDecay: 0.01 }, alpha: ALPHA, beta: BETA, ...condition.distill, taskWeight, seed: 7 });
      trained = result.student;
      source = trained;
      error = `${svdError.toFixed(4)} -> ${meanRelError(teacher, trained).toFixed(4)}`;
      const h = result.history;
      const f = (k: 'task' | 'featureDistill' | 'weightPerturbation') => (h[0][k] === null ? '–' : `${(h[0][k] as number).toPrecision(3)}->${(h[h.length - 1][k] as number).toPrecision(3)}`);
      terms = `${f('task')} / ${f('featureDistill')} / ${f('weightPerturbation')}`;
    }
    const scores: number[] = [];
    for (let s = 0; s < SEEDS; s++) scores.push(await bench.score(source, s));
    const score = mean(scores);
    if (condition.key === 'dense') dense = score;
    const params = source instanceof LowRankModel ? source.parameterCount() : plan.paramsBefore;
    const vsDense = condition.key === 'dense' || Number.isNaN(dense) ? '' : (score - dense).toFixed(2);
    console.log(`| ${condition.name} | ${params} | ${error} | ${terms} | ${score.toFixed(2)} ± ${std(scores).toFixed(2)} | ${vsDense} |`);
    trained?.dispose();
  }
  console.log(`(${((performance.now() - started) / 1000).toFixed(0)} s${bench.lowerIsBetter ? '; lower is better' : ''})`);
  lowRank.dispose();
  teacher.dispose();
  bench.distillData.dispose();
  bench.dispose();
}

async function main(): Promise<void> {
  await initBackend({ backend: 'wasm' });
  registerWasmMatMulFastPath();
  for (const name of flag('backbones', 'vit-digits,bert-tiny,gpt2-tiny').split(',')) await runBackbone(name);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
