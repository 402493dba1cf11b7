import { promises as fs } from 'node:fs';
import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { encodeFloat32 } from '@patchwork/tensor';
import { ChunkReader } from './execute/chunk-reader';
import { chunkElements } from './execute/chunk-plan';
import { CURSOR_VERSION, MergeCheckpoint, MergeCursor, isMergeCursor, planDigest } from './execute/cursor';
import { RssMonitor } from './execute/rss-monitor';
import { carryModelFiles } from './io/carry-files';
import { InputReader } from './io/input-reader';
import { ShardStreamWriter } from './io/shard-stream-writer';
import { ChunkInput, StreamingMerge, TensorMerger, WholeModelContext } from './methods/merge-method';
import { MergePlan, PlannedTensor } from './plan';
import { defaultBytesPerElement } from './streaming/by-choice';

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
  /**
   * Bound in bytes on the merge's working memory: the values of the tensor (or chunk) in flight
   * for every input, the method's intermediates and the output. A tensor whose working set is
   * larger is merged in chunks of whole rows, bit-identically. The process's own footprint comes
   * on top; the summary reports both (`baselineRssBytes`, `peakRssBytes`).
   */
  maxMemoryBytes?: number;
  /**
   * Makes the merge resumable: the cursor is read before starting and written after every
   * finished tensor. A run that finds a cursor of the same plan keeps the verified output already
   * in `outDir` and merges only the remaining tensors (whole-model methods redo their statistics
   * walks, which are deterministic). `outDir` must then be stable across attempts (keyed by job
   * id, not attempt) and owned by one run at a time; on failure or cancellation its partial
   * output is kept for the next attempt.
   */
  checkpoint?: MergeCheckpoint;
}

export interface MergeSummary {
  tensors: number;
  /** Bytes read from the inputs by this run (statistics walks and re-reads of chunked tensors included). */
  bytesRead: number;
  /** Tensor bytes written by this run. */
  bytesWritten: number;
  files: string[];
  /** Walks over all inputs before the merge pass (whole-model methods; 0 for per-tensor ones). */
  statisticsWalks: number;
  /** Largest float32 working set of one tensor step: every input's tensor (or chunk) plus the output. */
  peakTensorBytes: number;
  /** The budget in force, if any. */
  maxMemoryBytes?: number;
  /** Tensors merged in several chunks because they did not fit the budget whole. */
  chunkedTensors: number;
  /** Resident set size when the merge started: the runtime's fixed overhead. */
  baselineRssBytes: number;
  /** Highest resident set size sampled during the merge. */
  peakRssBytes: number;
  /** Present when a checkpoint was given: tensors taken over from an earlier attempt, and why any recorded output was not. */
  resumed?: { tensors: number; discarded?: string };
}


const DEFAULT_SHARD_BYTES = 5_000_000_000;

/**
 * Memory a budgeted merge may use beyond `maxMemoryBytes` and the process's baseline: V8 frees
 * typed-array memory only when a garbage collection runs, and it starts one once about 64 MiB of
 * such memory was allocated since the last (its external-memory soft limit). Chunks freed
 * meanwhile stay resident until then. A constant of the runtime, independent of budget and input.
 */
export const V8_GC_SLACK_BYTES = 64 * 1024 * 1024;

function positiveInteger(value: number | undefined, field: string): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) throw invalidArgument(field, `must be a positive integer, got ${value}`);
}

/** Output bytes of merged values; float32 values are written as they are, without a copy. */
function encode(values: Float32Array, tensor: PlannedTensor): Uint8Array {
  return tensor.spec.dtype === 'F32' ? new Uint8Array(values.buffer, values.byteOffset, values.byteLength) : encodeFloat32(values, tensor.spec.dtype);
}

/** A method without a streaming form merges each tensor whole (its atom is the tensor). */
function streamingOf(plan: MergePlan): StreamingMerge {
  const merge = plan.method.merge;
  return plan.method.streaming ?? { prepare: () => (chunk) => merge(chunk), atom: (shape) => shape.reduce((a, b) => a * b, 1) };
}

/**
 * Runs a planned merge tensor by tensor. Within `maxMemoryBytes`, each tensor of every input is
 * read whole; past it, in chunks of rows read by byte range, with per-tensor statistics gathered
 * in walks over the chunks. Output is written chunk by chunk into shards. Whole-model methods
 * first walk the inputs for their global statistics. Deterministic: the same inputs give the
 * same bytes, whatever the budget, and a resumed run gives the bytes of an uninterrupted one.
 */
export async function executeMerge(plan: MergePlan, options: ExecuteOptions): Promise<MergeSummary> {
  const { outDir, signal, checkpoint } = options;
  positiveInteger(options.maxShardBytes, 'maxShardBytes');
  positiveInteger(options.maxMemoryBytes, 'maxMemoryBytes');
  const maxShardBytes = options.maxShardBytes ?? DEFAULT_SHARD_BYTES;
  const budget = options.maxMemoryBytes;
  await fs.mkdir(outDir, { recursive: true });
  const checkCancelled = () => {
    if (signal?.aborted) throw new PatchworkError('CANCELLED', 'merge cancelled');
  };

  const monitor = new RssMonitor();
  const input = new InputReader();
  const chunks = new ChunkReader(plan, input, () => monitor.sample(), checkCancelled);
  const writer = new ShardStreamWriter(
    outDir,
    plan.tensors.map((t) => t.spec),
    { maxShardBytes, metadata: { format: 'pt' }, hashing: checkpoint !== undefined, durable: checkpoint !== undefined },
  );
  const streaming = streamingOf(plan);
  const inputs = plan.models.length + (plan.base ? 1 : 0);
  const bytesPerElement = streaming.bytesPerElement?.(inputs, plan.choices) ?? defaultBytesPerElement(inputs);
  const reference = plan.base ?? plan.models[0];
  const progress = (p: Omit<MergeProgress, 'bytesRead' | 'bytesWritten'>) => options.onProgress?.({ ...p, bytesRead: input.bytesRead, bytesWritten: writer.bytesWritten });
  const stepOf = (tensor: PlannedTensor, atom: number) => chunkElements(tensor.spec.name, tensor.spec.shape, atom, bytesPerElement, budget);
  let chunkedTensors = 0;

  let start = 0;
  let resumed: MergeSummary['resumed'];
  let digest = '';
  try {
    if (checkpoint) {
      digest = await planDigest(plan, maxShardBytes);
      const cursor: unknown = await checkpoint.read();
      if (cursor === null || cursor === undefined) resumed = { tensors: 0 };
      else if (!isMergeCursor(cursor)) resumed = { tensors: 0, discarded: 'the stored cursor is malformed or from another version' };
      else if (cursor.plan !== digest) resumed = { tensors: 0, discarded: 'the stored cursor belongs to another plan (recipe, inputs or output layout changed)' };
      else {
        const adopted = await writer.resume(cursor);
        start = adopted.tensors;
        resumed = adopted.discarded ? adopted : { tensors: start };
      }
    }

    const mergedTensors = plan.tensors.filter((t) => t.merged);
    let walks = 0;
    let wholeModel: TensorMerger | undefined;
    if (plan.method.prepare && start < plan.tensors.length) {
      const context: WholeModelContext = {
        tensorCount: mergedTensors.length,
        signal,
        forEachTensor: async (visit) => {
          walks += 1;
          let done = 0;
          for (const tensor of mergedTensors) {
            await chunks.forEachChunk(tensor, stepOf(tensor, 1), visit);
            done += 1;
            await progress({ done, total: mergedTensors.length, tensor: tensor.spec.name, phase: 'statistics', walk: walks });
          }
        },
      };
      wholeModel = await plan.method.prepare(context, plan.choices);
    }

    const writeChunk = async (tensor: PlannedTensor, values: Float32Array) => {
      monitor.sample();
      await writer.write(encode(values, tensor));
    };
    for (let index = start; index < plan.tensors.length; index++) {
      checkCancelled();
      const tensor = plan.tensors[index];
      const name = tensor.spec.name;
      await writer.beginTensor(index);
      if (!tensor.merged) {
        // Integer buffers are copied byte for byte from the reference, in budget-sized slices.
        const total = reference.info(name).byteLength;
        const slice = budget === undefined ? Math.max(total, 1) : Math.max(1, Math.floor(budget / 2));
        for (let from = 0; from < total; from += slice) {
          checkCancelled();
          await writer.write(await input.readBytes(reference, name, from, Math.min(slice, total - from)));
        }
      } else if (wholeModel) {
        const merger = wholeModel;
        const step = stepOf(tensor, 1);
        if (step < tensor.spec.shape.reduce((a, b) => a * b, 1)) chunkedTensors++;
        await chunks.forEachChunk(tensor, step, (chunk) => writeChunk(tensor, merger(chunk)));
      } else {
        const step = stepOf(tensor, streaming.atom?.(tensor.spec.shape, tensor.resolved?.parameters ?? {}, plan.choices) ?? 1);
        const length = tensor.spec.shape.reduce((a, b) => a * b, 1);
        if (step >= length) {
          const held: ChunkInput = await chunks.read(tensor, 0, length);
          const merger = await streaming.prepare(chunks.chunksOf(tensor, step, held));
          await writeChunk(tensor, merger(held));
        } else {
          chunkedTensors++;
          const merger = await streaming.prepare(chunks.chunksOf(tensor, step));
          await chunks.forEachChunk(tensor, step, (chunk) => writeChunk(tensor, merger(chunk)));
        }
      }
      await writer.endTensor();
      if (checkpoint) {
        const cursor: MergeCursor = { version: CURSOR_VERSION, plan: digest, done: index + 1, ...writer.current() };
        await checkpoint.write(cursor);
      }
      await progress({ done: index + 1, total: plan.tensors.length, tensor: name, phase: 'merge' });
    }

    const files = [...(await writer.finish()), ...(await carryModelFiles(plan.referenceDir, outDir))];
    monitor.stop();
    return {
      tensors: plan.tensors.length,
      bytesRead: input.bytesRead,
      bytesWritten: writer.bytesWritten,
      files,
      statisticsWalks: walks,
      peakTensorBytes: chunks.peakChunkBytes,
      maxMemoryBytes: budget,
      chunkedTensors,
      baselineRssBytes: monitor.baseline,
      peakRssBytes: monitor.peak,
      resumed,
    };
  } catch (err) {
    await writer.abort(checkpoint !== undefined);
    throw err instanceof PatchworkError ? err : PatchworkError.from(err);
  } finally {
    monitor.stop();
    chunks.release();
    await input.close();
  }
}
