import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { Checkpoint } from '@patchwork/tensor';
import { ShardRecord } from '../io/shard-stream-writer';
import { MergePlan } from '../plan';

/** Bumped whenever merge arithmetic or the output layout changes, so older cursors are not trusted. */
export const CURSOR_VERSION = 1;

/**
 * Where an interrupted merge stood, recorded after every finished tensor. The output directory
 * holds `shards` (finished, at their final names) and, for the shard in progress, the partial
 * file `.<shard>.partial` whose first `partial.bytes` bytes (header plus the finished tensors of
 * that shard) hash to `partial.sha256`. A resume trusts nothing else: it re-hashes every recorded
 * file and falls back to the last point that still verifies.
 */
export interface MergeCursor {
  version: number;
  /** sha256 of the plan's identity (see planDigest); a cursor of any other plan is ignored. */
  plan: string;
  /** Tensors finished, in output order. */
  done: number;
  shards: ShardRecord[];
  partial?: ShardRecord;
}

/** Durable storage for one job's cursor (a KV entry keyed by job id, say). */
export interface MergeCheckpoint {
  read(): Promise<MergeCursor | null>;
  write(cursor: MergeCursor): Promise<void>;
}

async function fileIdentity(file: string): Promise<[string, number, number]> {
  const s = await stat(file);
  return [file, s.size, s.mtimeMs];
}

async function checkpointIdentity(checkpoint: Checkpoint) {
  return Promise.all(checkpoint.files.map((f) => fileIdentity(f.path)));
}

/**
 * The plan's identity: recipe (method, choices, every tensor's resolved parameters), output
 * layout (names, dtypes, shapes, shard size) and inputs (each file's path, size and modification
 * time, so a replaced input invalidates the cursor).
 */
export async function planDigest(plan: MergePlan, maxShardBytes: number): Promise<string> {
  const identity = {
    version: CURSOR_VERSION,
    method: plan.method.name,
    choices: plan.choices,
    maxShardBytes,
    tensors: plan.tensors.map((t) => [t.spec.name, t.spec.dtype, t.spec.shape, t.merged, t.resolved?.modelParameters ?? null, t.resolved?.parameters ?? null]),
    base: plan.base ? await checkpointIdentity(plan.base) : null,
    models: await Promise.all(plan.models.map(checkpointIdentity)),
    reference: plan.referenceDir,
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

const isRecord = (value: unknown): value is ShardRecord => {
  const r = value as ShardRecord;
  return typeof r === 'object' && r !== null && typeof r.file === 'string' && Number.isSafeInteger(r.bytes) && r.bytes >= 0 && typeof r.sha256 === 'string';
};

/** Checks a cursor read back from storage; a malformed one is treated as absent. */
export function isMergeCursor(value: unknown): value is MergeCursor {
  const c = value as MergeCursor;
  return (
    typeof c === 'object' &&
    c !== null &&
    c.version === CURSOR_VERSION &&
    typeof c.plan === 'string' &&
    Number.isSafeInteger(c.done) &&
    c.done >= 0 &&
    Array.isArray(c.shards) &&
    c.shards.every(isRecord) &&
    (c.partial === undefined || isRecord(c.partial))
  );
}
