import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { type AggregateOptions, type EvalResults, buildResults } from '../runner/results';
import type { SampleLog } from '../runner/samples';
import { SHARD_FORMAT, type ShardResult } from '../runner/shard-result';

export interface EvaluationOutput {
  readonly results: EvalResults;
  /** Per-sample logs in doc order (lm-eval's samples jsonl, one object per line). */
  readonly samples: readonly SampleLog[];
}

/** The first delivery of each shard index; later deliveries of the same index are dropped. */
function firstDeliveries(shards: readonly ShardResult[]): ShardResult[] {
  const byIndex = new Map<number, ShardResult>();
  for (const s of shards) if (!byIndex.has(s.shard.index)) byIndex.set(s.shard.index, s);
  return [...byIndex.values()].sort((a, b) => a.shard.index - b.shard.index);
}

function checkSameJob(shards: readonly ShardResult[]): void {
  const problems = new ViolationCollector();
  const head = shards[0];
  shards.forEach((s, i) => {
    if (s?.format !== SHARD_FORMAT) problems.add(`shards[${i}].format`, `expected ${SHARD_FORMAT}, got ${JSON.stringify(s?.format)}`);
    else if (s.fingerprint !== head.fingerprint) problems.add(`shards[${i}]`, `belongs to another evaluation (fingerprint ${s.fingerprint.slice(0, 12)} vs ${head.fingerprint.slice(0, 12)}: task, data, limit, batch size or model differ)`);
    else if (s.shard.count !== head.shard.count) problems.add(`shards[${i}].shard.count`, `is ${s.shard.count}, other shards say ${head.shard.count}`);
  });
  problems.throwIfAny();
}

/**
 * Reduces the shards of one evaluation exactly: samples are concatenated in doc order and every
 * metric and standard error is computed from them (bootstrap included, with its seed), so the
 * result is identical to an unsharded run's. Idempotent by shard index: a shard delivered twice
 * (a redelivered job) counts once, the first delivery winning. Every shard must be present
 * (FAILED_PRECONDITION names the missing ones).
 */
export function reduceShards(shards: readonly ShardResult[], options: AggregateOptions = {}): EvaluationOutput {
  if (!Array.isArray(shards) || shards.length === 0) throw new PatchworkError('INVALID_ARGUMENT', 'shards: at least one shard result is needed');
  checkSameJob(shards);
  const unique = firstDeliveries(shards);
  const { count } = unique[0].shard;
  const effective = unique[0].n_samples.effective;
  const present = new Set(unique.map((s) => s.shard.index));
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !present.has(i));
  if (missing.length > 0) throw new PatchworkError('FAILED_PRECONDITION', `shards ${missing.join(', ')} of ${count} have not been delivered`);
  let next = 0;
  const samples: SampleLog[] = [];
  for (const s of unique) {
    if (s.shard.start !== next) throw new PatchworkError('INVALID_ARGUMENT', `shard ${s.shard.index} starts at document ${s.shard.start}, expected ${next}: the shards do not tile the documents`);
    if (s.samples.length !== s.shard.end - s.shard.start) throw new PatchworkError('DATA_LOSS', `shard ${s.shard.index} holds ${s.samples.length} samples for documents [${s.shard.start}, ${s.shard.end})`);
    s.samples.forEach((sample, k) => {
      if (sample.doc_id !== s.shard.start + k) throw new PatchworkError('DATA_LOSS', `shard ${s.shard.index}: sample ${k} has doc_id ${sample.doc_id}, expected ${s.shard.start + k}`);
      samples.push(sample);
    });
    next = s.shard.end;
  }
  if (next !== effective) throw new PatchworkError('INVALID_ARGUMENT', `the shards cover documents [0, ${next}) of ${effective}`);
  return { results: buildResults(unique[0], samples, options), samples };
}
