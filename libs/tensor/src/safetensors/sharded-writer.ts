import { PatchworkError } from '@patchwork/errors';
import { mkdir, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { tensorByteLength } from './dtype';
import { fsError } from './file-io';
import { TensorSpec, validateSpecs } from './layout';
import { SafetensorsWriter, syncDirectory, tempPathFor } from './writer';

export interface ShardedCheckpointOptions {
  /** Largest data size of one shard in bytes; a single larger tensor gets a shard of its own. */
  maxShardBytes: number;
  /** File stem; default `model` (gives `model.safetensors`, `model-00001-of-00002.safetensors`). */
  baseName?: string;
  /** `__metadata__` of every shard; default `{ format: 'pt' }`, which transformers requires to load it. */
  metadata?: Record<string, string>;
}

/** Produces one tensor's bytes when its turn comes, so only one tensor is held at a time. */
export type TensorProducer = (name: string, spec: TensorSpec) => Promise<Uint8Array> | Uint8Array;

/** Groups tensors, in order, into shards of at most `max` bytes, as transformers does. */
export function planShards(specs: readonly TensorSpec[], max: number): TensorSpec[][] {
  const shards: TensorSpec[][] = [];
  let current: TensorSpec[] = [];
  let size = 0;
  for (const spec of specs) {
    const bytes = tensorByteLength(spec.dtype, spec.shape);
    if (current.length > 0 && size + bytes > max) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(spec);
    size += bytes;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

function shardName(base: string, index: number, count: number): string {
  const pad = (n: number): string => String(n).padStart(5, '0');
  return `${base}-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

/** Removes files of an earlier save under the same base name that the new save does not use. */
async function removeStale(dir: string, base: string, keep: Set<string>): Promise<void> {
  const escaped = base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const ours = new RegExp(`^${escaped}(\\.safetensors|\\.safetensors\\.index\\.json|-\\d{5}-of-\\d{5}\\.safetensors)$`);
  for (const entry of await readdir(dir)) {
    if (ours.test(entry) && !keep.has(entry)) await unlink(nodePath.join(dir, entry)).catch(() => undefined);
  }
}

/**
 * Writes a checkpoint in the Hugging Face layout: `<base>.safetensors` when everything fits in one
 * shard, else `<base>-0000i-of-0000n.safetensors` plus `<base>.safetensors.index.json`
 * (`metadata.total_size`, `weight_map`). Sizes must be known up front (each shard's header comes
 * first), hence `specs` plus a `produce` callback called once per tensor in spec order. The index
 * is published last, and on failure the shards written so far are removed.
 * Returns the paths written (shards, then the index if any).
 */
export async function writeShardedCheckpoint(
  dir: string,
  specs: TensorSpec[],
  produce: TensorProducer,
  options: ShardedCheckpointOptions,
): Promise<{ files: string[] }> {
  const { maxShardBytes } = options;
  if (typeof maxShardBytes !== 'number' || !Number.isSafeInteger(maxShardBytes) || maxShardBytes <= 0) {
    throw new PatchworkError('INVALID_ARGUMENT', `maxShardBytes must be a positive integer, got ${maxShardBytes}`, {
      violations: [{ field: 'maxShardBytes', description: 'must be a positive integer' }],
    });
  }
  const base = options.baseName ?? 'model';
  if (base === '' || base !== nodePath.basename(base)) throw new PatchworkError('INVALID_ARGUMENT', `baseName must be a plain file stem, got ${JSON.stringify(base)}`);
  validateSpecs(specs);
  const metadata = options.metadata ?? { format: 'pt' };
  await mkdir(dir, { recursive: true });

  const shards = planShards(specs, maxShardBytes);
  const names = shards.length === 1 ? [`${base}.safetensors`] : shards.map((_, i) => shardName(base, i, shards.length));
  const written: string[] = [];
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  try {
    for (let s = 0; s < shards.length; s++) {
      const path = nodePath.join(dir, names[s]);
      const writer = await SafetensorsWriter.create(path, shards[s], metadata);
      try {
        for (const spec of shards[s]) {
          await writer.write(spec.name, await produce(spec.name, spec));
          weightMap[spec.name] = names[s];
          totalSize += tensorByteLength(spec.dtype, spec.shape);
        }
        await writer.finish();
      } catch (e) {
        await writer.abort();
        throw e;
      }
      written.push(path);
    }
    if (shards.length > 1) {
      const indexPath = nodePath.join(dir, `${base}.safetensors.index.json`);
      const sortedMap = Object.fromEntries(Object.keys(weightMap).sort().map((k) => [k, weightMap[k]]));
      const body = `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: sortedMap }, null, 2)}\n`;
      const temp = tempPathFor(indexPath);
      try {
        await writeFile(temp, body, { flag: 'wx' });
        await rename(temp, indexPath);
      } catch (e) {
        await unlink(temp).catch(() => undefined);
        throw e;
      }
      written.push(indexPath);
    }
  } catch (e) {
    await Promise.all(written.map((p) => unlink(p).catch(() => undefined)));
    throw fsError(e, `cannot write checkpoint in ${dir}`);
  }
  await removeStale(dir, base, new Set(written.map((p) => nodePath.basename(p))));
  await syncDirectory(dir);
  return { files: written };
}
