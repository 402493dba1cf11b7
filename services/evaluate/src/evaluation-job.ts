import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ArtifactKind, JobState, SubmitEvaluationRequest } from '@patchwork/contracts';
import { PatchworkError } from '@patchwork/errors';
import {
  CompatibilityReport,
  compareSamples,
  evaluateGate,
  evaluateShard,
  EvaluationOutput,
  gateMetrics,
  loadTaskDocs,
  planShards,
  reduceShards,
  ShardRange,
  ShardResult,
} from '@patchwork/evaluate';
import { artifactParents, dispatchShards, JobHandler, Runtime, ShardHandler } from '@patchwork/platform';
import { loadEvaluationInputs, loadTask } from './evaluation-inputs';
import { EvaluationSpec, evaluationSpecFromRequest } from './evaluation-spec';

export const RESULTS_FILE = 'results.json';
export const samplesFile = (task: string) => `samples_${task}.jsonl`;

interface ShardPayload {
  spec: EvaluationSpec;
  range: ShardRange;
}

const encodeJson = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decodeJson = <T>(bytes: Uint8Array): T => JSON.parse(new TextDecoder().decode(bytes)) as T;

/** Evaluates one shard on whichever replica pulled it. */
export function evaluationShardHandler(runtime: Runtime): ShardHandler {
  return async (payload, shard) => {
    const { spec, range } = decodeJson<ShardPayload>(payload);
    const inputs = await loadEvaluationInputs(runtime, spec);
    try {
      const result = await evaluateShard({
        model: inputs.model,
        adapter: inputs.adapter,
        tokenizer: inputs.tokenizer,
        task: inputs.task,
        batchSize: spec.batchSize,
        limit: spec.limit,
        modelName: inputs.modelName,
        shard: range,
        signal: shard.signal,
      });
      return encodeJson(result);
    } finally {
      inputs.dispose();
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
  return async (requestBytes, context) => {
    const request = SubmitEvaluationRequest.decode(requestBytes);
    const spec = evaluationSpecFromRequest(request);
    const task = await loadTask(spec.task);
    const total = loadTaskDocs(task).docs.length;
    const numDocs = spec.limit ? Math.min(total, spec.limit) : total;
    const plan = planShards(numDocs, spec.shardSize, { batchSize: spec.batchSize });
    await dispatchShards(
      runtime.fabric.queue,
      'evaluate',
      context.job.id,
      plan.shards.map((range) => encodeJson({ spec, range } satisfies ShardPayload)),
    );
    await context.progress({ stage: 'shards', done: 0, total: plan.shards.length, message: `${numDocs} documents in ${plan.shards.length} shard(s)` });
    const shardBytes = await runtime.shards.collect(context.job.id, plan.shards.length, context.signal, (done) =>
      context.progress({ stage: 'shards', done, total: plan.shards.length }),
    );
    await context.progress({ stage: 'reduce', message: 'aggregating metrics' });
    const output = reduceShards(shardBytes.map((b) => decodeJson<ShardResult>(b)));

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
      return { outputs: [{ digest: record.digest, size: record.size }] };
    } finally {
      await fs.rm(scratch, { recursive: true, force: true });
      await runtime.shards.clear(context.job.id, plan.shards.length);
    }
  };
}
