import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type Job, type ModelSource } from '@patchwork/contracts';
import { loadTask } from '@patchwork/datasets';
import { PatchworkError } from '@patchwork/errors';
import { callUnary } from '@patchwork/platform';
import { SafetensorsFile, safetensorsBytes } from '@patchwork/tensor';
import { downloadBundle } from '../remote/transfer';
import { awaitJob, withRetries } from './await-job';
import type { LifecycleClients } from './clients';
import type { CompressStep, CurvePoint, EvaluationStep, FaultRecord, LifecycleResult, MergeRow, RetrievalStep, TrainedAdapter } from './lifecycle-result';

/** The two patches of the lifecycle: the backbone's own classes refined, and five new ones. */
export const LIFECYCLE_TASKS = ['digits-lower', 'digits-upper'] as const;
const MERGE_METHODS = ['pcb', 'task_arithmetic'] as const;
/** The evaluate service's name of a datasets task (lm-evaluation-harness spells them with underscores). */
const evalTask = (task: string) => task.replace(/-/g, '_');
/** The merged model the rest of the lifecycle promotes. */
const PRIMARY_MERGE = 'pcb';

export interface LifecycleOptions {
  /** Unique per run: every request id derives from it, so a retried call is deduplicated. */
  readonly runId: string;
  /** Downloads (reports, adapters' metrics) go here. */
  readonly workDir: string;
  /** Where the services run, for the report (`embedded`, a NATS URL). */
  readonly fabric: string;
  /** Backbone pre-training steps; 0 or absent: the recipe's. */
  readonly backboneSteps?: number;
  /** Optimizer steps of each adapter's training. */
  readonly trainSteps?: number;
  /** Documents per evaluation (0 or absent: the whole test split). */
  readonly evalLimit?: number;
  /** Test images per task routed through Retrieve and Predict. */
  readonly routedPerTask?: number;
  /** The gate the promoted model must pass, as the evaluate service's JSON rule. */
  readonly gate?: unknown;
  /** Progress of the current step (fraction in [0, 1]). */
  readonly onProgress?: (step: string, fraction: number, detail: string) => void;
  /** Told about every job once submitted: the system test injects faults from here. */
  readonly onJobSubmitted?: (step: string, jobId: string) => void | Promise<void>;
  /** Faults injected so far (read at the end). */
  readonly faults?: () => readonly FaultRecord[];
}

const DEFAULT_GATE = { all: [{ metric: 'acc', op: '>=', value: 0.5 }, { metric: 'negative_flip_rate', op: '<=', value: 0.25 }] };

const artifact = (digest: string): ModelSource => ({ source: { $case: 'artifactDigest', value: digest } });

interface Ran {
  job: Job;
  seconds: number;
}

/** The context every step shares: clients, ids, downloads, job bookkeeping. */
class Steps {
  constructor(
    readonly clients: LifecycleClients,
    readonly options: LifecycleOptions,
  ) {}

  id(step: string): string {
    return `${this.options.runId}-${step}`;
  }

  async submitted(step: string, submit: () => Promise<{ job?: Job }>): Promise<string> {
    const response = await withRetries(submit);
    const jobId = response.job?.id;
    if (!jobId) throw new PatchworkError('INTERNAL', `${step}: the service returned no job`);
    await this.options.onJobSubmitted?.(step, jobId);
    return jobId;
  }

  async finished(step: string, jobId: string, started: number): Promise<Ran> {
    const job = await awaitJob(this.clients, jobId, (j) => this.options.onProgress?.(step, j.progress?.fraction ?? 0, j.progress?.message ?? ''));
    return { job, seconds: (Date.now() - started) / 1000 };
  }

  async run(step: string, submit: () => Promise<{ job?: Job }>): Promise<Ran> {
    const started = Date.now();
    return this.finished(step, await this.submitted(step, submit), started);
  }

  output(ran: Ran): string {
    const digest = ran.job.outputs[0]?.digest;
    if (!digest) throw new PatchworkError('INTERNAL', `job ${ran.job.id} succeeded without an output artifact`);
    return digest;
  }

  async download(digest: string): Promise<string> {
    const dir = path.join(this.options.workDir, 'artifacts', digest);
    await fs.rm(dir, { recursive: true, force: true });
    await withRetries(() => downloadBundle(this.clients, digest, dir));
    return dir;
  }

  async json<T>(digest: string, file: string): Promise<T> {
    return JSON.parse(await fs.readFile(path.join(await this.download(digest), file), 'utf8')) as T;
  }
}

async function buildBackbone(s: Steps): Promise<{ digest: string; ran: Ran }> {
  const ran = await s.run('backbone', () =>
    callUnary(s.clients.train, 'buildBackbone', { requestId: s.id('backbone'), name: 'vit-digits', evolved: false, seed: 0, steps: s.options.backboneSteps ?? 0, labels: { lifecycle: s.options.runId } }),
  );
  return { digest: s.output(ran), ran };
}

interface CompressReport {
  params_before: number;
  params_after: number;
  flops_per_token_before: number;
  flops_per_token_after: number;
  layers: { module: string; rank: number; relError: number }[];
}

async function compress(s: Steps, backbone: string): Promise<CompressStep> {
  const gamma = 2;
  const ran = await s.run('compress', () => callUnary(s.clients.compress, 'submitCompress', { requestId: s.id('compress'), model: artifact(backbone), gamma, distillDataset: '', distillSteps: 0, labels: { lifecycle: s.options.runId } }));
  const digest = s.output(ran);
  const report = await s.json<CompressReport>(digest, 'compress_report.json');
  return {
    jobId: ran.job.id,
    seconds: ran.seconds,
    digest,
    gamma,
    paramsBefore: report.params_before,
    paramsAfter: report.params_after,
    flopsPerTokenBefore: report.flops_per_token_before,
    flopsPerTokenAfter: report.flops_per_token_after,
    layers: report.layers.map((l) => ({ module: l.module, rank: l.rank, relError: l.relError })),
  };
}

function trainRecipe(task: string, steps: number): string {
  return [
    'method: lora',
    `task: ${task}`,
    'parameters: { r: 8, lora_alpha: 16, lora_dropout: 0.0, target_modules: [query, value, dense] }',
    `trainer: { steps: ${steps}, batch_size: 32, lr: 0.005, warmup: 0.1, schedule: linear, eval_every: ${Math.max(1, Math.floor(steps / 5))}, checkpoint_every: ${Math.max(1, Math.floor(steps / 4))}, seed: 7 }`,
    '',
  ].join('\n');
}

interface TrainMetricsFile {
  metrics: Record<string, number>;
  trainable_parameters: number;
  phases: { lossHistory: { step: number; loss: number; lr: number }[]; evalHistory: { step: number; metrics: Record<string, number> }[] }[];
}

async function trainAdapters(s: Steps, backbone: string): Promise<TrainedAdapter[]> {
  const steps = s.options.trainSteps ?? 60;
  // Both jobs are queued at once: train workers take them in parallel where there are several.
  const started = Date.now();
  const jobs = await Promise.all(
    LIFECYCLE_TASKS.map((task) =>
      s.submitted(`train ${task}`, () => callUnary(s.clients.train, 'submitTrain', { requestId: s.id(`train-${task}`), baseModel: artifact(backbone), configYaml: trainRecipe(task, steps), labels: { lifecycle: s.options.runId } })),
    ),
  );
  return Promise.all(
    LIFECYCLE_TASKS.map(async (task, i) => {
      const ran = await s.finished(`train ${task}`, jobs[i], started);
      const digest = s.output(ran);
      const file = await s.json<TrainMetricsFile>(digest, 'train_metrics.json');
      const phase = file.phases[file.phases.length - 1];
      const evals = new Map(phase.evalHistory.map((e) => [e.step, e.metrics.eval_accuracy]));
      const curve: CurvePoint[] = phase.lossHistory.map((p) => ({ step: p.step, loss: p.loss, lr: p.lr, ...(evals.has(p.step) ? { evalAccuracy: evals.get(p.step) } : {}) }));
      return { jobId: ran.job.id, seconds: ran.seconds, task, method: 'lora', digest, trainableParameters: file.trainable_parameters, metrics: file.metrics, curve };
    }),
  );
}

async function merge(s: Steps, backbone: string, adapters: readonly TrainedAdapter[], method: string): Promise<{ digest: string; ran: Ran }> {
  const parameters: Record<string, number> = method === 'pcb' ? { ratio: 0.5, lambda: 1 } : { lambda: 1 };
  const ran = await s.run(`merge ${method}`, () =>
    callUnary(s.clients.merge, 'submitMerge', {
      requestId: s.id(`merge-${method}`),
      spec: {
        mergeMethod: method,
        baseModel: artifact(backbone),
        models: adapters.map((a) => ({ model: artifact(backbone), adapter: artifact(a.digest), parameters: { weight: 1 }, settings: {} })),
        parameters,
        settings: {},
        dtype: '',
        outDtype: '',
      },
      labels: { lifecycle: s.options.runId },
    }),
  );
  return { digest: s.output(ran), ran };
}

interface EvaluationRequestParts {
  readonly model: string;
  readonly adapter?: string;
  readonly task: string;
  readonly gate?: unknown;
  readonly baselineJobId?: string;
}

async function submitEvaluation(s: Steps, name: string, parts: EvaluationRequestParts): Promise<string> {
  return s.submitted(`evaluate ${name}`, () =>
    callUnary(s.clients.evaluate, 'submitEvaluation', {
      requestId: s.id(`eval-${name}`),
      model: artifact(parts.model),
      adapterDigest: parts.adapter ?? '',
      task: evalTask(parts.task),
      labels: { lifecycle: s.options.runId },
      batchSize: 64,
      shardSize: 0,
      limit: s.options.evalLimit ?? 0,
      gateJson: parts.gate === undefined ? '' : JSON.stringify(parts.gate),
      baselineJobId: parts.baselineJobId ?? '',
    }),
  );
}

interface ResultsFile {
  results: Record<string, Record<string, number>>;
  gate?: { promoted: boolean; reasons: string[] };
}

async function accuracyOf(s: Steps, name: string, jobId: string, started: number): Promise<{ acc: number; file: ResultsFile; ran: Ran }> {
  const ran = await s.finished(`evaluate ${name}`, jobId, started);
  const file = await s.json<ResultsFile>(s.output(ran), 'results.json');
  const task = Object.keys(file.results)[0];
  const acc = file.results[task]?.['acc,none'];
  if (typeof acc !== 'number') throw new PatchworkError('INTERNAL', `evaluation ${jobId} reported no accuracy`);
  return { acc, file, ran };
}

interface CompatibilityFile {
  n: number;
  negative_flip_rate: number;
  positive_flip_rate: number;
  accuracy_old: number;
  accuracy_new: number;
}

async function evaluateAll(s: Steps, backbone: string, adapters: readonly TrainedAdapter[], merged: ReadonlyMap<string, string>): Promise<{ rows: MergeRow[]; evaluation: EvaluationStep }> {
  const started = Date.now();
  // The current version (the backbone) on its own classes: the baseline of the gate's flips.
  const baseline = await submitEvaluation(s, 'baseline', { model: backbone, task: LIFECYCLE_TASKS[0] });
  await s.finished('evaluate baseline', baseline, started);
  const gate = s.options.gate ?? DEFAULT_GATE;
  const jobs = new Map<string, Promise<string>>();
  for (const a of adapters) jobs.set(`adapter-${a.task}`, submitEvaluation(s, `adapter-${a.task}`, { model: backbone, adapter: a.digest, task: a.task }));
  for (const [method, digest] of merged) {
    for (const task of LIFECYCLE_TASKS) {
      const gated = method === PRIMARY_MERGE && task === LIFECYCLE_TASKS[0];
      jobs.set(`${method}-${task}`, submitEvaluation(s, `${method}-${task}`, { model: digest, task, ...(gated ? { gate, baselineJobId: baseline } : {}) }));
    }
  }
  const results = new Map<string, Awaited<ReturnType<typeof accuracyOf>>>();
  await Promise.all([...jobs].map(async ([name, id]) => results.set(name, await accuracyOf(s, name, await id, started))));
  const own = new Map(adapters.map((a) => [a.task, results.get(`adapter-${a.task}`)?.acc ?? Number.NaN]));
  const rows: MergeRow[] = [...merged].map(([method, digest]) => {
    const accuracy = Object.fromEntries(LIFECYCLE_TASKS.map((t) => [t, results.get(`${method}-${t}`)?.acc ?? Number.NaN]));
    const normalized = LIFECYCLE_TASKS.map((t) => accuracy[t] / (own.get(t) ?? Number.NaN));
    return { method, digest, accuracy, normalizedAverage: normalized.reduce((x, y) => x + y, 0) / normalized.length };
  });
  const gated = results.get(`${PRIMARY_MERGE}-${LIFECYCLE_TASKS[0]}`);
  if (gated?.file.gate === undefined) throw new PatchworkError('INTERNAL', 'the gated evaluation reported no gate decision');
  const compare = await s.run('compare', () => callUnary(s.clients.evaluate, 'compareModels', { requestId: s.id('compare'), oldJobId: baseline, newJobId: gated.ran.job.id }));
  const compat = await s.json<CompatibilityFile>(s.output(compare), 'compatibility.json');
  const metrics = Object.fromEntries(Object.entries(gated.file.results[evalTask(LIFECYCLE_TASKS[0])] ?? {}).filter(([, v]) => typeof v === 'number'));
  return {
    rows,
    evaluation: {
      jobId: gated.ran.job.id,
      seconds: (Date.now() - started) / 1000,
      task: LIFECYCLE_TASKS[0],
      metrics,
      gate: { rule: JSON.stringify(gate), decision: gated.file.gate.promoted ? 'promoted' : 'rejected', reasons: gated.file.gate.reasons },
      compatibility: {
        oldModel: backbone,
        newModel: merged.get(PRIMARY_MERGE) as string,
        samples: compat.n,
        negativeFlipRate: compat.negative_flip_rate,
        positiveFlipRate: compat.positive_flip_rate,
        oldAccuracy: compat.accuracy_old,
        newAccuracy: compat.accuracy_new,
      },
    },
  };
}

async function argmaxOf(blob: Uint8Array, workDir: string): Promise<number> {
  const file = path.join(workDir, `logits-${process.pid}-${Math.random().toString(36).slice(2)}.safetensors`);
  await fs.writeFile(file, blob);
  const st = await SafetensorsFile.open(file);
  try {
    const data = await st.readFloat32(st.has('logits') ? 'logits' : st.names()[0]);
    let best = 0;
    for (let i = 1; i < data.length; i++) if (data[i] > data[best]) best = i;
    return best;
  } finally {
    await st.close();
    await fs.rm(file, { force: true });
  }
}

async function retrieveAndPredict(s: Steps, backbone: string, adapters: readonly TrainedAdapter[]): Promise<RetrievalStep> {
  const started = Date.now();
  const perTask = s.options.routedPerTask ?? 10;
  const routes: Record<string, number> = {};
  let routedCorrectly = 0;
  let predictedCorrectly = 0;
  let inputs = 0;
  // The registry may hold adapters for the same task from earlier runs: a route is right when it
  // reaches an adapter trained for the input's task, whichever run made it.
  const taskOf = new Map<string, string>(adapters.map((a) => [a.digest, a.task]));
  const routedTask = async (digest: string) => {
    if (!taskOf.has(digest)) taskOf.set(digest, (await withRetries(() => callUnary(s.clients.artifacts, 'getArtifact', { digest }))).labels['task'] ?? '');
    return taskOf.get(digest);
  };
  for (const adapter of adapters) {
    const test = loadTask(adapter.task).test;
    for (let i = 0; i < Math.min(perTask, test.ids.length); i++) {
      const blob = safetensorsBytes({ pixel_values: { dtype: 'F32', shape: [1, 1, 8, 8], data: test.inputs[i] as Float32Array } });
      const ranked = await withRetries(() => callUnary(s.clients.retrieve, 'retrieve', { baseModelDigest: backbone, inputsSafetensors: blob, topK: adapters.length }));
      const prediction = await withRetries(() => callUnary(s.clients.retrieve, 'predict', { baseModelDigest: backbone, inputsSafetensors: blob, adapterDigest: '' }));
      if (ranked.adapters.length === 0) throw new PatchworkError('FAILED_PRECONDITION', 'Retrieve found no adapter for the backbone');
      routes[prediction.adapterDigest] = (routes[prediction.adapterDigest] ?? 0) + 1;
      if ((await routedTask(prediction.adapterDigest)) === adapter.task) {
        routedCorrectly++;
        if ((await argmaxOf(prediction.outputsSafetensors, s.options.workDir)) === test.labels[i]) predictedCorrectly++;
      }
      inputs++;
      s.options.onProgress?.('retrieve', inputs / (perTask * adapters.length), `${routedCorrectly}/${inputs} routed to their task's adapter`);
    }
  }
  return { jobId: '', seconds: (Date.now() - started) / 1000, routedCorrectly, inputs, predictedCorrectly, routes };
}

/**
 * The whole life of a patch, over gRPC only: build a backbone, compress it, train two task
 * adapters, merge them (PCB, and task arithmetic for comparison), evaluate every model with a
 * promotion gate and a compatibility comparison against the current version, then route inputs
 * to adapters and predict through them. Every request id derives from `runId`, so the run can be
 * retried after a failure without duplicating work.
 */
export async function runLifecycle(clients: LifecycleClients, options: LifecycleOptions): Promise<LifecycleResult> {
  const startedAt = new Date();
  await fs.mkdir(options.workDir, { recursive: true });
  const s = new Steps(clients, options);
  const backbone = await buildBackbone(s);
  const compressed = await compress(s, backbone.digest);
  const training = await trainAdapters(s, backbone.digest);
  const merges = new Map<string, string>();
  let mergeSeconds = 0;
  let primaryJob = '';
  for (const method of MERGE_METHODS) {
    const m = await merge(s, backbone.digest, training, method);
    merges.set(method, m.digest);
    mergeSeconds += m.ran.seconds;
    if (method === PRIMARY_MERGE) primaryJob = m.ran.job.id;
  }
  const { rows, evaluation } = await evaluateAll(s, backbone.digest, training, merges);
  const retrieval = await retrieveAndPredict(s, backbone.digest, training);
  const finishedAt = new Date();
  return {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    fabric: options.fabric,
    backbone: { jobId: backbone.ran.job.id, seconds: backbone.ran.seconds, name: 'vit-digits', digest: backbone.digest, parameters: compressed.paramsBefore },
    compress: compressed,
    training,
    merge: { jobId: primaryJob, seconds: mergeSeconds, digest: merges.get(PRIMARY_MERGE) as string, method: PRIMARY_MERGE, rows },
    evaluation,
    retrieval,
    faults: options.faults?.() ?? [],
  };
}
