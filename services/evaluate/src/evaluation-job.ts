import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ArtifactKind, JobState, SubmitEvaluationRequest } from '@patchwork/contracts';
import { PatchworkError } from '@patchwork/errors';
import {
  autoShardSize,
  CompatibilityReport,
  compareSamples,
  evaluateGate,
  evaluateShard,
  EvaluationOutput,
  gateMetrics,
  planShards,
  reduceShards,
  ShardRange,
  ShardResult,
} from '@patchwork/evaluate';
import { artifactParents, dispatchShards, JobHandler, Runtime, ShardHandler } from '@patchwork/platform';
import { tf } from '@patchwork/tensor';
import { acquireDocs, acquireModel, evaluationCaches, loadTask, modelNameOf } from './evaluation-inputs';
import { EvaluationSpec, evaluationSpecFromRequest } from './evaluation-spec';

export const RESULTS_FILE = 'results.json';
export const samplesFile = (task: string) => `samples_${task}.jsonl`;

interface ShardPayload {
  spec: EvaluationSpec;
  range: ShardRange;
}

const encodeJson = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decodeJson = <T>(bytes: Uint8Array): T => JSON.parse(new TextDecoder().decode(bytes)) as T;

const sinceMs = (start: number) => Math.round(performance.now() - start);
const cpuMs = (usage: NodeJS.CpuUsage) => Math.round((usage.user + usage.system) / 1000);

/**
 * Evaluates one shard on whichever replica pulled it. The model and the documents come from the
 * replica's caches, so only a job's first shard on a replica pays for loading them. Each shard
 * logs what it cost (`evaluation shard`): that is how scale-out is measured and tuned.
 */
export function evaluationShardHandler(runtime: Runtime): ShardHandler {
  const caches = evaluationCaches(runtime);
  return async (payload, shard) => {
    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    const { spec, range } = decodeJson<ShardPayload>(payload);
    const task = await loadTask(spec.task);
    const docs = await acquireDocs(caches, task);
    try {
      const loaded = await acquireModel(runtime, caches, spec);
      try {
        const loadMs = sinceMs(started);
        const computeStart = performance.now();
        const result = await evaluateShard({
          model: loaded.value.model,
          adapter: loaded.value.adapter,
          tokenizer: loaded.value.tokenizer,
          task,
          docs: docs.value,
          batchSize: spec.batchSize,
          limit: spec.limit,
          modelName: modelNameOf(spec),
          shard: range,
          signal: shard.signal,
        });
        const bytes = encodeJson(result);
        runtime.logger.info(
          {
            jobId: shard.jobId,
            shard: shard.index,
            shards: shard.count,
            docs: range.end - range.start,
            modelCache: loaded.hit ? 'hit' : 'miss',
            loadMs,
            computeMs: sinceMs(computeStart),
            wallMs: sinceMs(started),
            // The whole process's CPU while the shard ran (a coordinator on this replica included).
            processCpuMs: cpuMs(process.cpuUsage(cpuAtStart)),
            backend: tf.getBackend(),
          },
          'evaluation shard',
        );
        return bytes;
      } finally {
        loaded.release();
      }
    } finally {
      docs.release();
    }
  };
}

/** The per-sample logs of an earlier evaluation job, from its results artifact. */
export async function samplesOfJob(runtime: Runtime, jobId: string, field: string): Promise<{ task: string; samples: Record<string, unknown>[] }> {
  const job = await runtime.jobRecords.get(jobId);
  if (!job) throw new PatchworkError('NOT_FOUND', `${field}: no job ${jobId}`);
  if (job.service !== 'evaluate' || job.kind !== 'evaluate') throw new PatchworkError('INVALID_ARGUMENT', `${field}: job ${jobId} is not an evaluation`);
  if (job.state !== JobState.JOB_STATE_SUCCEEDED || !job.outputs[0]) throw new PatchworkError('FAILED_PRECONDITION', `${field}: job ${jobId} has not succeeded`);
  const dir = await runtime.artifacts.materialize(job.outputs[0].digest);
  const results = JSON.parse(await fs.readFile(path.join(dir, RESULTS_FILE), 'utf8')) as { results: Record<string, unknown> };
  const task = Object.keys(results.results)[0];
  const lines = (await fs.readFile(path.join(dir, samplesFile(task)), 'utf8')).split('\n').filter(Boolean);
  return { task, samples: lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

async function writeOutput(dir: string, output: EvaluationOutput, task: string, compatibility?: CompatibilityReport, gate?: unknown): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, RESULTS_FILE), `${JSON.stringify({ ...output.results, ...(compatibility ? { compatibility } : {}), ...(gate ? { gate } : {}) }, null, 2)}\n`);
  await fs.writeFile(path.join(dir, samplesFile(task)), output.samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
}

/**
 * Coordinates one evaluation: splits the documents into shards on the work queue (any replica
 * may take them), waits for every shard's result (each recorded once), reduces them exactly,
 * stores results + per-sample logs as an artifact, records the scores on the evaluated artifact
 * and applies the promotion gate.
 */
export function evaluationJobHandler(runtime: Runtime): JobHandler {
  const caches = evaluationCaches(runtime);
  return async (requestBytes, context) => {
    const started = performance.now();
    const dispatchCpu = process.cpuUsage();
    const request = SubmitEvaluationRequest.decode(requestBytes);
    const spec = evaluationSpecFromRequest(request);
    const task = await loadTask(spec.task);
    const docs = await acquireDocs(caches, task);
    const total = docs.value.docs.length;
    docs.release();
    const numDocs = spec.limit ? Math.min(total, spec.limit) : total;
    const shardSize = spec.shardSize ?? autoShardSize(numDocs, spec.batchSize);
    const plan = planShards(numDocs, shardSize, { batchSize: spec.batchSize });
    // Before the first shard is on the queue no replica can start: this part is strictly serial.
    const prepareCpuMs = cpuMs(process.cpuUsage(dispatchCpu));
    await dispatchShards(
      runtime.fabric.queue,
      'evaluate',
      context.job.id,
      plan.shards.map((range) => encodeJson({ spec, range } satisfies ShardPayload)),
    );
    const dispatchMs = sinceMs(started);
    // An upper bound on the dispatch's own CPU: a shard this replica already took counts too,
    // as it starts while later shards are still being enqueued.
    const dispatchCpuMs = cpuMs(process.cpuUsage(dispatchCpu));
    await context.progress({ stage: 'shards', done: 0, total: plan.shards.length, message: `${numDocs} documents in ${plan.shards.length} shard(s)` });
    const collectStart = performance.now();
    const shardBytes = await runtime.shards.collect(context.job.id, plan.shards.length, context.signal, (done) =>
      context.progress({ stage: 'shards', done, total: plan.shards.length }),
    );
    const shardsMs = sinceMs(collectStart);
    await context.progress({ stage: 'reduce', message: 'aggregating metrics' });
    const reduceStart = performance.now();
    const reduceCpu = process.cpuUsage();
    const output = reduceShards(shardBytes.map((b) => decodeJson<ShardResult>(b)));
    const reduceMs = sinceMs(reduceStart);
    const reduceCpuMs = cpuMs(process.cpuUsage(reduceCpu));
    const storeStart = performance.now();
    const storeCpu = process.cpuUsage();

    let compatibility: CompatibilityReport | undefined;
    if (spec.baselineJobId) {
      const baseline = await samplesOfJob(runtime, spec.baselineJobId, 'baseline_job_id');
      if (baseline.task !== task.task) throw new PatchworkError('INVALID_ARGUMENT', `baseline_job_id: evaluated ${baseline.task}, not ${task.task}`);
      compatibility = compareSamples(baseline.samples as never, output.samples as never);
    }
    const decision = spec.gate ? evaluateGate(spec.gate, gateMetrics(output.results, compatibility)) : undefined;

    const scratch = path.join(runtime.scratchDir, `${context.job.id}-${context.attempt}`);
    try {
      await writeOutput(scratch, output, task.task, compatibility, decision);
      const evaluated = spec.adapterDigest ?? (spec.modelRef.startsWith('artifact:') ? spec.modelRef.slice('artifact:'.length) : undefined);
      const record = await runtime.artifacts.putDirectory(scratch, {
        kind: ArtifactKind.ARTIFACT_KIND_REPORT,
        format: 'lm-eval-results',
        parents: [...artifactParents([spec.modelRef]), ...(spec.adapterDigest ? [spec.adapterDigest] : [])],
        recipeJson: JSON.stringify(SubmitEvaluationRequest.toJSON(request)),
        jobId: context.job.id,
        labels: { ...request.labels, producer: 'evaluate', task: task.task },
      });
      if (evaluated) {
        const metrics = gateMetrics(output.results, compatibility);
        await runtime.artifacts.addEvaluation(evaluated, { name: task.task, metrics, atMs: Date.now() });
        if (decision) await runtime.artifacts.setLabels(evaluated, { promotion: decision.promoted ? 'promoted' : 'rejected', promotion_job: context.job.id });
      }
      // Where the job's time went: only `shardsMs` shrinks with more replicas; the rest is this
      // coordinator's serial work. CPU times are of the whole process (shards are all in by then).
      context.logger.info(
        {
          jobId: context.job.id,
          docs: numDocs,
          shards: plan.shards.length,
          shardSize: plan.shardSize,
          prepareCpuMs,
          dispatchMs,
          dispatchCpuMs,
          shardsMs,
          reduceMs,
          reduceCpuMs,
          storeMs: sinceMs(storeStart),
          storeCpuMs: cpuMs(process.cpuUsage(storeCpu)),
        },
        'evaluation timings',
      );
      return { outputs: [{ digest: record.digest, size: record.size }] };
    } finally {
      await fs.rm(scratch, { recursive: true, force: true });
      await runtime.shards.clear(context.job.id, plan.shards.length);
    }
  };
}
