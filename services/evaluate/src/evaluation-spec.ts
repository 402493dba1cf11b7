import { SubmitEvaluationRequest } from '@patchwork/contracts';
import { ViolationCollector } from '@patchwork/errors';
import { GateRule, parseGateRule } from '@patchwork/evaluate';
import { modelSourceToRef, validateDigest } from '@patchwork/platform';

/** A SubmitEvaluation request, checked and with defaults applied; travels as JSON on the queue. */
export interface EvaluationSpec {
  modelRef: string;
  adapterDigest?: string;
  /** A registered task name, or a task config as YAML (it has a newline). */
  task: string;
  batchSize: number;
  /** Documents per shard; left out, the coordinator picks one from the job's size (`autoShardSize`). */
  shardSize?: number;
  limit?: number;
  gate?: GateRule;
  baselineJobId?: string;
}

const MAX_BATCH = 1024;
const MAX_SHARD = 100_000;

function attempt<T>(problems: ViolationCollector, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    const violations = (err as { violations?: { field: string; description: string }[] }).violations ?? [];
    for (const v of violations) problems.add(v.field, v.description);
    if (violations.length === 0) problems.add('request', (err as Error).message);
    return undefined;
  }
}

export function evaluationSpecFromRequest(request: SubmitEvaluationRequest): EvaluationSpec {
  const problems = new ViolationCollector();
  if (!request.requestId) problems.add('request_id', 'required (it is the idempotency key)');
  const modelRef = attempt(problems, () => modelSourceToRef(request.model, 'model'));
  if (request.adapterDigest) attempt(problems, () => validateDigest(request.adapterDigest, 'adapter_digest'));
  if (!request.task.trim()) problems.add('task', 'required: a registered task name or a task config as YAML');
  const batchSize = request.batchSize || 32;
  const shardSize = request.shardSize || undefined;
  if (batchSize > MAX_BATCH) problems.add('batch_size', `at most ${MAX_BATCH}`);
  if (shardSize !== undefined && shardSize > MAX_SHARD) problems.add('shard_size', `at most ${MAX_SHARD}`);
  if (shardSize !== undefined && shardSize < batchSize) problems.add('shard_size', `must be at least batch_size (${batchSize}): shards hold whole batches`);
  let gate: GateRule | undefined;
  if (request.gateJson) {
    gate = attempt(problems, () => {
      let raw: unknown;
      try {
        raw = JSON.parse(request.gateJson);
      } catch (err) {
        throw Object.assign(new Error(`gate_json: not JSON (${(err as Error).message})`), { violations: [{ field: 'gate_json', description: 'not valid JSON' }] });
      }
      return parseGateRule(raw);
    });
  }
  problems.throwIfAny();
  return {
    modelRef: modelRef as string,
    adapterDigest: request.adapterDigest || undefined,
    task: request.task,
    batchSize,
    shardSize,
    limit: request.limit || undefined,
    gate,
    baselineJobId: request.baselineJobId || undefined,
  };
}
