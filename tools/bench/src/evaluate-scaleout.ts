// Evaluation throughput with 1 and 2 worker replicas on real NATS: the same job, in this process.
//   npx tsx tools/bench/src/evaluate-scaleout.ts [--docs 512] [--hidden 256] [--layers 12]
//     [--batch 8] [--shard-size 0 (auto)] [--rounds 1] [--no-pin] [--verbose (every shard's line)]
// Each replica is `patchwork serve --only evaluate` in its own process; this process hosts the API
// only. A small warm-up job first lets every replica load the model (its cache keeps it) and warm
// up, so the measured job shows steady-state throughput. Replicas log one line per shard and one per job (evaluation shard / evaluation timings),
// from which the report splits the job's time and counts the shards each replica took. Needs a
// nats-server with JetStream (NATS_URL, default nats://127.0.0.1:4222).
//
// By default replica i is pinned to CPU i (taskset), as a one-core pod is: the tensor backend
// otherwise runs large products on every core (onnxruntime threads), so one replica alone would
// already use the cores a second one is meant to add, and the ratio would measure intra-op
// threading, not scale-out. --no-pin measures that unpinned case.
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { EvaluateClient, JobsClient, JobState, SubmitEvaluationRequest } from '@patchwork/contracts';
import { invalidArgument } from '@patchwork/errors';
import { createModel, RawConfig } from '@patchwork/models';
import { callUnary, createGrpcClient, deleteNatsNamespace, readPlatformConfig, serve } from '@patchwork/platform';
import { evaluateServiceModule } from '@patchwork/service-evaluate';
import { tf, writeSafetensors } from '@patchwork/tensor';

const repo = path.resolve(__dirname, '../../..');
/** The digits train split (1439 images): the test split's 179 are too few to keep two replicas busy. */
const TASK_YAML = `task: digits_scaleout
dataset: digits
split: train
output_type: classification
metric_list: [{ metric: acc }, { metric: f1_macro }, { metric: f1_micro }, { metric: mcc }]
metadata: { version: 1.0 }
`;
const MAX_DOCS = 1439;

interface Options {
  docs: number;
  hidden: number;
  layers: number;
  batch: number;
  shardSize: number;
  rounds: number;
  pin: boolean;
  verbose: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      docs: { type: 'string', default: '512' },
      hidden: { type: 'string', default: '256' },
      layers: { type: 'string', default: '12' },
      batch: { type: 'string', default: '8' },
      'shard-size': { type: 'string', default: '0' },
      rounds: { type: 'string', default: '1' },
      'no-pin': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const int = (name: Exclude<keyof typeof values, 'no-pin' | 'verbose'>, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < min || v > max) throw invalidArgument(`--${name}`, `must be an integer in [${min}, ${max}], got ${values[name]}`);
    return v;
  };
  return { docs: int('docs', 1, MAX_DOCS), hidden: int('hidden', 4), layers: int('layers', 1), batch: int('batch', 1), shardSize: int('shard-size', 0), rounds: int('rounds', 1, 20), pin: !values['no-pin'], verbose: values.verbose === true };
}

/** A random ViT for 8x8 digits, big enough that evaluation is compute-bound. */
async function writeVit(dir: string, hidden: number, layers: number): Promise<void> {
  const config: RawConfig = {
    model_type: 'vit', architectures: ['ViTForImageClassification'], hidden_size: hidden, num_hidden_layers: layers,
    num_attention_heads: 4, intermediate_size: 4 * hidden, image_size: 8, patch_size: 2, num_channels: 1, num_labels: 10,
  };
  const shapes: [string, number[]][] = [
    ['vit.embeddings.cls_token', [1, 1, hidden]],
    ['vit.embeddings.position_embeddings', [1, 17, hidden]],
    ['vit.embeddings.patch_embeddings.projection.weight', [hidden, 1, 2, 2]],
    ['vit.embeddings.patch_embeddings.projection.bias', [hidden]],
    ['vit.layernorm.weight', [hidden]], ['vit.layernorm.bias', [hidden]],
    ['classifier.weight', [10, hidden]], ['classifier.bias', [10]],
  ];
  for (let l = 0; l < layers; l++) {
    const p = `vit.encoder.layer.${l}`;
    for (const m of ['attention.attention.query', 'attention.attention.key', 'attention.attention.value', 'attention.output.dense']) shapes.push([`${p}.${m}.weight`, [hidden, hidden]], [`${p}.${m}.bias`, [hidden]]);
    shapes.push([`${p}.intermediate.dense.weight`, [4 * hidden, hidden]], [`${p}.intermediate.dense.bias`, [4 * hidden]]);
    shapes.push([`${p}.output.dense.weight`, [hidden, 4 * hidden]], [`${p}.output.dense.bias`, [hidden]]);
    for (const n of ['layernorm_before', 'layernorm_after']) shapes.push([`${p}.${n}.weight`, [hidden]], [`${p}.${n}.bias`, [hidden]]);
  }
  const weights = new Map(shapes.map(([k, s], i) => [k, tf.randomNormal(s, 0, 0.05, 'float32', i)]));
  const model = createModel(config, weights);
  await fs.mkdir(dir, { recursive: true });
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [k, t] of model.weights) tensors[k] = { dtype: 'F32', shape: t.shape, data: t.dataSync() as Float32Array };
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  model.dispose();
}

type LogLine = Record<string, unknown> & { msg?: string; jobId?: string };

interface Replica {
  child: ChildProcess;
  lines: LogLine[];
}

/** A replica process; its JSON log lines (stdout) are collected, its "serving" line awaited. */
function replica(env: NodeJS.ProcessEnv, dataDir: string, cpu: number | undefined): Promise<Replica> {
  const command = [process.execPath, path.join(repo, 'tools/cli/bin/patchwork.js'), 'serve', '--only', 'evaluate', '--port', '0', '--data-dir', dataDir];
  const pinned = cpu === undefined ? command : ['taskset', '-c', String(cpu), ...command];
  const child = spawn(pinned[0], pinned.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  let partial = '';
  child.stdout?.on('data', (d) => {
    const chunks = (partial + String(d)).split('\n');
    partial = chunks.pop() ?? '';
    for (const c of chunks) {
      try {
        lines.push(JSON.parse(c) as LogLine);
      } catch {
        // Not a log line (a library banner): nothing to measure in it.
      }
    }
  });
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (d) => String(d).includes('serving') && resolve({ child, lines }));
    child.once('exit', (code) => reject(new Error(`replica exited ${code}`)));
    child.once('error', (err) => reject(new Error(`replica did not start (${err.message}); without taskset, pass --no-pin`)));
  });
}

/** CPU seconds a process has used so far (Linux /proc; NaN elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

interface JobReport {
  replicas: number;
  seconds: number;
  shardsPerReplica: number[];
  modelLoadsPerReplica: number[];
  timings: { docs: number; prepareCpuMs: number; dispatchMs: number; dispatchCpuMs: number; shardsMs: number; reduceMs: number; reduceCpuMs: number; storeMs: number; storeCpuMs: number; shards: number; shardSize: number };
  /** Sum over shards of the process CPU while each ran, and of their compute wall time. */
  shardCpuMs: number;
  shardComputeMs: number;
  /** Each shard's log line, with the replica that ran it. */
  shardLines: (LogLine & { replica: number })[];
  replicaCpuSeconds: number[];
  backend: string;
}

/** A fixed amount of pure CPU work (no I/O, no allocation), for the machine's own scaling ceiling. */
const SPIN = 'let x = 0; for (let i = 0; i < 3e8; i++) x = (x + i * 7) % 1000003; if (x < 0) console.log(x);';

function spin(cpu: number | undefined): Promise<number> {
  const command = cpu === undefined ? [process.execPath, '-e', SPIN] : ['taskset', '-c', String(cpu), process.execPath, '-e', SPIN];
  const started = performance.now();
  const child = spawn(command[0], command.slice(1), { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`spin exited ${code}`))));
  });
}

/**
 * What this machine gives two processes against one right now: the same CPU loop alone and then
 * twice at once (pinned like the replicas). On an idle 2-core machine it is 2.0x; other work on
 * the machine pulls it down, and no evaluation can scale better than it.
 */
async function machineCeiling(opts: Options): Promise<number> {
  const cpus = os.cpus().length;
  const cpu = (i: number) => (opts.pin ? i % cpus : undefined);
  const solo = await spin(cpu(0));
  const pair = await Promise.all([spin(cpu(0)), spin(cpu(1))]);
  return (2 * solo) / Math.max(...pair);
}

interface ConfigReport {
  /** A first, smaller job: replicas load the model and warm up (what a fresh replica pays once). */
  warmup: JobReport;
  /** The measured job, on warm replicas: steady-state throughput. */
  job: JobReport;
}

/** Starts the API and `replicas` replica processes, runs a warm-up job and then the measured job. */
async function runConfig(replicas: number, model: string, root: string, opts: Options, natsUrl: string): Promise<ConfigReport> {
  const prefix = `bench_${randomUUID().slice(0, 8)}_`;
  const env = { ...process.env, NATS_URL: natsUrl, PATCHWORK_NATS_PREFIX: prefix, PATCHWORK_MODEL_PATH_ROOTS: root, PATCHWORK_LOG_LEVEL: 'info' };
  const config = readPlatformConfig({}, { natsServers: natsUrl, natsPrefix: prefix, dataDir: path.join(root, `api-${prefix}`), grpcPort: '0', services: 'evaluate', workers: 'false', modelPathRoots: root, logLevel: 'error' });
  const api = await serve({ config, modules: [evaluateServiceModule] });
  const cpus = os.cpus().length;
  const children = await Promise.all(Array.from({ length: replicas }, (_, i) => replica(env, path.join(root, `${prefix}r${i}`), opts.pin ? i % cpus : undefined)));
  const address = `127.0.0.1:${api.port}`;
  const evaluate = createGrpcClient(EvaluateClient, { address });
  const jobs = createGrpcClient(JobsClient, { address });

  const runJob = async (limit: number, shardSize: number): Promise<JobReport> => {
    const cpuBefore = children.map((r) => cpuSeconds(r.child.pid));
    const started = performance.now();
    const { job } = await callUnary(evaluate, 'submitEvaluation', SubmitEvaluationRequest.fromPartial({
      requestId: randomUUID(), model: { source: { $case: 'path', value: model } }, task: TASK_YAML, batchSize: opts.batch, shardSize, limit,
    }));
    for (;;) {
      const state = (await callUnary(jobs, 'getJob', { jobId: job!.id })).state;
      if (state === JobState.JOB_STATE_SUCCEEDED) break;
      if (state === JobState.JOB_STATE_FAILED) throw new Error('evaluation failed');
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    const replicaCpuSeconds = children.map((r, i) => cpuSeconds(r.child.pid) - cpuBefore[i]);
    // The coordinator logs after the job's output is stored, a moment before the job reads as done.
    const ofJob = (r: Replica, msg: string) => r.lines.filter((l) => l.msg === msg && l.jobId === job!.id);
    for (let waited = 0; !children.some((r) => ofJob(r, 'evaluation timings').length > 0); waited += 20) {
      if (waited > 5000) throw new Error('no replica logged the job timings');
      await new Promise((r) => setTimeout(r, 20));
    }
    const shards = children.map((r) => ofJob(r, 'evaluation shard'));
    const all = shards.flat();
    return {
      replicas,
      seconds,
      shardsPerReplica: shards.map((s) => s.length),
      modelLoadsPerReplica: shards.map((s) => s.filter((l) => l['modelCache'] === 'miss').length),
      timings: children.flatMap((r) => ofJob(r, 'evaluation timings'))[0] as unknown as JobReport['timings'],
      shardLines: shards.flatMap((lines, replica) => lines.map((l) => ({ ...l, replica }))),
      shardCpuMs: all.reduce((s, l) => s + Number(l['processCpuMs']), 0),
      shardComputeMs: all.reduce((s, l) => s + Number(l['computeMs']), 0),
      replicaCpuSeconds,
      backend: String(all[0]?.['backend']),
    };
  };

  try {
    // One batch per shard, 16 shards: every replica takes some, so each loads the model and warms up.
    const warmupDocs = Math.min(opts.docs, 16 * opts.batch);
    const warmup = await runJob(warmupDocs, opts.batch);
    return { warmup, job: await runJob(opts.docs, opts.shardSize) };
  } finally {
    evaluate.close();
    jobs.close();
    for (const c of children) c.child.kill('SIGKILL');
    await api.close();
    await deleteNatsNamespace({ servers: natsUrl }, prefix);
  }
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return Number.isInteger(mid) ? (sorted[mid - 1] + sorted[mid]) / 2 : sorted[Math.floor(mid)];
};
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function describe(r: JobReport, docs: number, verbose: boolean): string {
  const t = r.timings;
  const shardRows = r.shardLines
    .sort((a, b) => Number(a['shard']) - Number(b['shard']))
    .map((l) => `      shard ${l['shard']} on replica ${l.replica}: ${l['docs']} docs, load ${l['loadMs']} ms (${l['modelCache']}), compute ${l['computeMs']} ms, process cpu ${l['processCpuMs']} ms`);
  return [
    `  ${r.replicas} replica(s): ${r.seconds.toFixed(2)} s end to end, ${(docs / r.seconds).toFixed(1)} docs/s`,
    `    coordinator: prepare cpu ${s(t.prepareCpuMs)} | dispatch ${s(t.dispatchMs)} (cpu ${s(t.dispatchCpuMs)}) | shards ${s(t.shardsMs)} | reduce ${s(t.reduceMs)} (cpu ${s(t.reduceCpuMs)}) | store ${s(t.storeMs)} (cpu ${s(t.storeCpuMs)})`,
    `    ${t.shards} shards of ${t.shardSize}; per replica: ${r.shardsPerReplica.join(' / ')} shards, ${r.modelLoadsPerReplica.join(' / ')} model load(s)`,
    `    shard compute ${s(r.shardComputeMs)} in all; process cpu while shards ran ${s(r.shardCpuMs)}; replica cpu ${r.replicaCpuSeconds.map((c) => `${c.toFixed(1)} s`).join(' / ')}`,
    ...(verbose ? shardRows : []),
  ].join('\n');
}

async function main(): Promise<void> {
  const opts = options();
  const root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'bench-eval-')));
  const model = path.join(root, 'vit');
  await writeVit(model, opts.hidden, opts.layers);
  const natsUrl = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
  const loadAtStart = os.loadavg();
  const runs: { ceiling: number; one: ConfigReport; two: ConfigReport }[] = [];
  try {
    // Alternating 1 and 2 replicas spreads drifting machine load over both.
    for (let round = 0; round < opts.rounds; round++) {
      const before = await machineCeiling(opts);
      const one = await runConfig(1, model, root, opts, natsUrl);
      const two = await runConfig(2, model, root, opts, natsUrl);
      runs.push({ ceiling: (before + (await machineCeiling(opts))) / 2, one, two });
    }
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
  const one = runs.map((r) => r.one);
  const two = runs.map((r) => r.two);
  console.log(`evaluation of ${opts.docs} digits images, random ViT (hidden ${opts.hidden}, ${opts.layers} layers), batch ${opts.batch}, on ${os.cpus().length} CPU(s), tensor backend of the replicas: ${one[0].job.backend}`);
  console.log(opts.pin ? 'replica i pinned to CPU i (one core per replica)' : 'replicas unpinned: each may use every core for large products');
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  console.log(`load average (1, 5, 15 min) at the start: ${load(loadAtStart)}, at the end: ${load(os.loadavg())}`);
  for (const r of runs.flatMap((round) => [round.one, round.two])) {
    const w = r.warmup;
    console.log(`  ${w.replicas} replica(s), warm-up job (${w.timings.docs} docs, fresh replicas): ${w.seconds.toFixed(2)} s; shards ${w.shardsPerReplica.join(' / ')}, model loads ${w.modelLoadsPerReplica.join(' / ')}`);
    console.log(describe(r.job, opts.docs, opts.verbose));
  }
  const ratios = one.map((r, i) => r.job.seconds / two[i].job.seconds);
  console.log(`throughput 2 vs 1 replicas (wall, warm replicas): ${ratios.map((x) => `${x.toFixed(2)}x`).join(', ')}; median ${median(ratios).toFixed(2)}x (goal >= 1.6x)`);
  const ceilings = runs.map((r) => r.ceiling);
  const ceiling = median(ceilings);
  console.log(`machine ceiling now (a CPU loop in 2 vs 1 processes, same pinning): ${ceilings.map((x) => `${x.toFixed(2)}x`).join(', ')}; the evaluation reached ${((100 * median(ratios)) / ceiling).toFixed(0)}% of it`);
  // Amdahl from CPU time, which machine load moves far less than wall time: the shards
  // parallelise; the coordinator's preparation (before the first shard is queued), reduce and
  // store do not. Enqueueing overlaps the shards that already run.
  const fractions = one.map(({ job: r }) => {
    const serial = r.timings.prepareCpuMs + r.timings.reduceCpuMs + r.timings.storeCpuMs;
    return { p: r.shardCpuMs / (r.shardCpuMs + serial), serial, parallel: r.shardCpuMs };
  });
  const p = median(fractions.map((f) => f.p));
  for (const f of fractions) console.log(`1-replica job cpu: shards ${s(f.parallel)} (parallel), prepare + reduce + store ${s(f.serial)} (serial)`);
  console.log(`parallelisable share of the 1-replica job's CPU time: ${(100 * p).toFixed(1)}%; Amdahl bound for 2 replicas: ${(1 / (1 - p + p / 2)).toFixed(2)}x`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
