import { PatchworkError, ViolationCollector } from '@patchwork/errors';

/** A contiguous range of documents `[start, end)`, shard `index` of `count`. */
export interface ShardRange {
  readonly index: number;
  readonly count: number;
  readonly start: number;
  readonly end: number;
}

export interface ShardPlan {
  readonly numDocs: number;
  /** Documents per shard (the last may hold fewer), after rounding up to whole batches. */
  readonly shardSize: number;
  readonly shards: readonly ShardRange[];
}

function checkCount(value: number, field: string, problems: ViolationCollector, min = 1): void {
  if (!Number.isInteger(value) || value < min) problems.add(field, `must be an integer >= ${min}, got ${value}`);
}

/**
 * Splits documents 0..numDocs-1 into shards of `shardSize`. With `batchSize`, the size is rounded
 * up to a multiple of it, so that every shard boundary is also a batch boundary: documents are
 * then batched exactly as in an unsharded run and every number is bit-identical.
 */
export function planShards(numDocs: number, shardSize: number, options: { batchSize?: number } = {}): ShardPlan {
  const problems = new ViolationCollector();
  checkCount(numDocs, 'numDocs', problems);
  checkCount(shardSize, 'shardSize', problems);
  if (options.batchSize !== undefined) checkCount(options.batchSize, 'batchSize', problems);
  problems.throwIfAny();
  const batch = options.batchSize ?? 1;
  const size = Math.ceil(shardSize / batch) * batch;
  const count = Math.ceil(numDocs / size);
  const shards = Array.from({ length: count }, (_, index) => ({ index, count, start: index * size, end: Math.min(numDocs, (index + 1) * size) }));
  return { numDocs, shardSize: size, shards };
}

/** Largest shard the automatic size picks: a shard redone after a replica dies redoes at most this many documents. */
export const MAX_AUTO_SHARD_SIZE = 256;
/** Shards the automatic size aims for, so replicas finish together: the last shard is at most 1/16 of the job. */
export const AUTO_SHARDS = 16;

/**
 * A shard size for a job when the caller gives none: about `AUTO_SHARDS` shards, each a whole
 * number of batches, at least one batch and at most `MAX_AUTO_SHARD_SIZE` documents (or one batch
 * when batches are larger). Few large shards leave replicas idle at the end of a job (one replica
 * computes the last shard alone); many tiny ones pay the queue round trip per shard.
 */
export function autoShardSize(numDocs: number, batchSize: number): number {
  const problems = new ViolationCollector();
  checkCount(numDocs, 'numDocs', problems);
  checkCount(batchSize, 'batchSize', problems);
  problems.throwIfAny();
  const batchesPerShard = Math.max(1, Math.min(Math.ceil(numDocs / AUTO_SHARDS / batchSize), Math.floor(MAX_AUTO_SHARD_SIZE / batchSize)));
  return batchesPerShard * batchSize;
}

/**
 * The range of shard `index` of `count` when a job is split evenly: whole batches are dealt out
 * as evenly as possible (shards differ by at most one batch; some are empty if there are more
 * shards than batches).
 */
export function shardRange(numDocs: number, shard: { index: number; count: number }, batchSize: number): ShardRange {
  const problems = new ViolationCollector();
  checkCount(numDocs, 'numDocs', problems);
  checkCount(batchSize, 'batchSize', problems);
  checkCount(shard?.count, 'shard.count', problems);
  checkCount(shard?.index, 'shard.index', problems, 0);
  problems.throwIfAny();
  if (shard.index >= shard.count) throw new PatchworkError('INVALID_ARGUMENT', `shard.index: ${shard.index} is not below shard.count ${shard.count}`);
  const batches = Math.ceil(numDocs / batchSize);
  const from = Math.floor((shard.index * batches) / shard.count);
  const to = Math.floor(((shard.index + 1) * batches) / shard.count);
  return { index: shard.index, count: shard.count, start: Math.min(numDocs, from * batchSize), end: Math.min(numDocs, to * batchSize) };
}

/** Throws unless `range` is a valid shard of `numDocs` documents whose bounds are batch bounds. */
export function checkShardRange(range: ShardRange, numDocs: number, batchSize: number): void {
  const problems = new ViolationCollector();
  checkCount(range.count, 'shard.count', problems);
  checkCount(range.index, 'shard.index', problems, 0);
  if (!Number.isInteger(range.start) || !Number.isInteger(range.end) || range.start < 0 || range.end < range.start || range.end > numDocs) {
    problems.add('shard', `range [${range.start}, ${range.end}) is not inside the ${numDocs} documents`);
  } else if (range.start % batchSize !== 0 || (range.end % batchSize !== 0 && range.end !== numDocs)) {
    problems.add('shard', `range [${range.start}, ${range.end}) must start and end on multiples of batchSize ${batchSize} (or at the last document) so that documents are batched as in an unsharded run; plan with planShards(numDocs, shardSize, { batchSize })`);
  }
  if (range.index >= range.count) problems.add('shard.index', `${range.index} is not below shard.count ${range.count}`);
  problems.throwIfAny();
}
