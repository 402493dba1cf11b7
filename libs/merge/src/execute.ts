import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { encodeFloat32, writeShardedCheckpoint } from '@patchwork/tensor';
import { MergePlan } from './plan';

export interface MergeProgress {
  done: number;
  total: number;
  tensor: string;
  bytesRead: number;
  bytesWritten: number;
}

export interface ExecuteOptions {
  outDir: string;
  signal?: AbortSignal;
  onProgress?: (progress: MergeProgress) => void | Promise<void>;
  /** Shard size of the output (transformers' default is 5 GB). */
  maxShardBytes?: number;
}

export interface MergeSummary {
  tensors: number;
  bytesRead: number;
  bytesWritten: number;
  files: string[];
}

/** Files a merged model carries over from its reference model, as mergekit does. */
const CARRIED_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.json',
  'vocab.txt',
  'merges.txt',
  'tokenizer.model',
  'preprocessor_config.json',
];

/**
 * Runs a planned merge tensor by tensor: only one tensor of each input is in memory at a time,
 * and the output is written shard by shard (each file atomically). Deterministic: the same inputs
 * give the same bytes.
 */
export async function executeMerge(plan: MergePlan, options: ExecuteOptions): Promise<MergeSummary> {
  const { outDir, signal } = options;
  await fs.mkdir(outDir, { recursive: true });
  const planned = new Map(plan.tensors.map((t) => [t.spec.name, t]));
  const reference = plan.base ?? plan.models[0];
  let done = 0;
  let bytesRead = 0;
  let bytesWritten = 0;
  const produce = async (name: string): Promise<Uint8Array> => {
    if (signal?.aborted) throw new PatchworkError('CANCELLED', 'merge cancelled');
    const tensor = planned.get(name);
    if (!tensor) throw new PatchworkError('INTERNAL', `tensor ${name} was not planned`);
    let bytes: Uint8Array;
    if (!tensor.merged) {
      bytes = await reference.readRaw(name);
      bytesRead += bytes.byteLength;
    } else {
      const base = plan.base ? await plan.base.readFloat32(name) : undefined;
      const models = [];
      for (const model of plan.models) models.push(await model.readFloat32(name));
      bytesRead += (base ? base.byteLength : 0) + models.reduce((s, m) => s + m.byteLength, 0);
      const merged = plan.method.merge({ base, models, modelParameters: plan.modelParameters, parameters: plan.parameters });
      bytes = encodeFloat32(merged, tensor.spec.dtype);
    }
    bytesWritten += bytes.byteLength;
    done += 1;
    await options.onProgress?.({ done, total: plan.tensors.length, tensor: name, bytesRead, bytesWritten });
    return bytes;
  };
  const { files } = await writeShardedCheckpoint(
    outDir,
    plan.tensors.map((t) => t.spec),
    produce,
    { maxShardBytes: options.maxShardBytes ?? 5_000_000_000 },
  );
  for (const name of CARRIED_FILES) {
    const source = path.join(plan.referenceDir, name);
    try {
      await fs.copyFile(source, path.join(outDir, name));
      files.push(path.join(outDir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return { tensors: plan.tensors.length, bytesRead, bytesWritten, files };
}
