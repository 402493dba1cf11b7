import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { encodeFloat32, writeShardedCheckpoint } from '@patchwork/tensor';
import { TensorMergeInput, TensorMerger, WholeModelContext } from './methods/merge-method';
import { MergePlan, PlannedTensor } from './plan';

export interface MergeProgress {
  done: number;
  total: number;
  tensor: string;
  bytesRead: number;
  bytesWritten: number;
  /**
   * `statistics`: a whole-model method's walk over the inputs before the merge (`walk` counts them
   * from 1; done/total count the merged tensors of that walk); `merge`: the output pass.
   */
  phase: 'statistics' | 'merge';
  walk?: number;
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
  /** Walks over all inputs before the merge pass (whole-model methods; 0 for per-tensor ones). */
  statisticsWalks: number;
  /** Largest float32 working set of one tensor step: every input's tensor plus the output. */
  peakTensorBytes: number;
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
 * and the output is written shard by shard (each file atomically). Whole-model methods first walk
 * the inputs (same one-tensor-at-a-time reads) to gather their global statistics. Deterministic:
 * the same inputs give the same bytes.
 */
export async function executeMerge(plan: MergePlan, options: ExecuteOptions): Promise<MergeSummary> {
  const { outDir, signal } = options;
  await fs.mkdir(outDir, { recursive: true });
  const planned = new Map(plan.tensors.map((t) => [t.spec.name, t]));
  const reference = plan.base ?? plan.models[0];
  let bytesRead = 0;
  let bytesWritten = 0;
  let peakTensorBytes = 0;
  const checkCancelled = () => {
    if (signal?.aborted) throw new PatchworkError('CANCELLED', 'merge cancelled');
  };

  const readInputs = async (tensor: PlannedTensor): Promise<TensorMergeInput> => {
    const name = tensor.spec.name;
    const base = plan.base ? await plan.base.readFloat32(name) : undefined;
    const models: Float32Array[] = [];
    for (const model of plan.models) models.push(await model.readFloat32(name));
    const bytes = (base ? base.byteLength : 0) + models.reduce((s, m) => s + m.byteLength, 0);
    bytesRead += bytes;
    peakTensorBytes = Math.max(peakTensorBytes, bytes + models[0].byteLength);
    const resolved = tensor.resolved;
    if (!resolved) throw new PatchworkError('INTERNAL', `tensor ${name} has no resolved parameters`);
    return { base, models, modelParameters: resolved.modelParameters, parameters: resolved.parameters, choices: plan.choices, name, shape: tensor.spec.shape };
  };

  const mergedTensors = plan.tensors.filter((t) => t.merged);
  let walks = 0;
  let merger: TensorMerger = plan.method.merge;
  if (plan.method.prepare) {
    const context: WholeModelContext = {
      tensorCount: mergedTensors.length,
      signal,
      forEachTensor: async (visit) => {
        walks += 1;
        let done = 0;
        for (const tensor of mergedTensors) {
          checkCancelled();
          await visit(await readInputs(tensor));
          done += 1;
          await options.onProgress?.({ done, total: mergedTensors.length, tensor: tensor.spec.name, bytesRead, bytesWritten, phase: 'statistics', walk: walks });
        }
      },
    };
    merger = (await plan.method.prepare(context, plan.choices)) ?? plan.method.merge;
  }

  let done = 0;
  const produce = async (name: string): Promise<Uint8Array> => {
    checkCancelled();
    const tensor = planned.get(name);
    if (!tensor) throw new PatchworkError('INTERNAL', `tensor ${name} was not planned`);
    let bytes: Uint8Array;
    if (!tensor.merged) {
      bytes = await reference.readRaw(name);
      bytesRead += bytes.byteLength;
    } else {
      const merged = merger(await readInputs(tensor));
      bytes = encodeFloat32(merged, tensor.spec.dtype);
    }
    bytesWritten += bytes.byteLength;
    done += 1;
    await options.onProgress?.({ done, total: plan.tensors.length, tensor: name, bytesRead, bytesWritten, phase: 'merge' });
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
  return { tensors: plan.tensors.length, bytesRead, bytesWritten, files, statisticsWalks: walks, peakTensorBytes };
}
