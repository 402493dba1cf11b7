import { PatchworkError } from '@patchwork/errors';
import { Checkpoint, dtypeByteSize } from '@patchwork/tensor';
import { InputReader } from '../io/input-reader';
import { ChunkInput, TensorChunks } from '../methods/merge-method';
import { MergePlan, PlannedTensor } from '../plan';

/**
 * Reads chunks of planned tensors from every input, tracking the working-set figures. Each input
 * reads into one buffer of its own, reused from chunk to chunk: a chunk's values stay valid only
 * until the next read, which is how the executor consumes them (read, merge, write, next). Reuse
 * spares the allocator and the garbage collector tens of megabytes per tensor.
 */
export class ChunkReader {
  /** Largest float32 working set of one chunk: every input's values plus the output. */
  peakChunkBytes = 0;
  private buffers: ArrayBuffer[] = [];

  constructor(
    private readonly plan: MergePlan,
    private readonly reader: InputReader,
    private readonly onChunk: () => void,
    private readonly checkCancelled: () => void,
  ) {}

  /** Elements [start, start + count) of the tensor from the base (if any) and every model. */
  async read(tensor: PlannedTensor, start: number, count: number): Promise<ChunkInput> {
    this.checkCancelled();
    const { spec, resolved } = tensor;
    if (!resolved) throw new PatchworkError('INTERNAL', `tensor ${spec.name} has no resolved parameters`);
    const read = (checkpoint: Checkpoint, slot: number) => this.reader.readFloat32(checkpoint, spec.name, start, count, this.buffer(slot, count * dtypeByteSize(checkpoint.info(spec.name).dtype)));
    const [base, ...models] = await Promise.all([this.plan.base ? read(this.plan.base, 0) : Promise.resolve(undefined), ...this.plan.models.map((m, i) => read(m, i + 1))]);
    const length = spec.shape.reduce((a, b) => a * b, 1);
    const rows = spec.shape.length >= 2 && length > 0 ? (count * spec.shape[0]) / length : count;
    const chunkShape = spec.shape.length >= 2 ? [rows, ...spec.shape.slice(1)] : spec.shape.length === 1 ? [count] : [...spec.shape];
    this.peakChunkBytes = Math.max(this.peakChunkBytes, 4 * count * (models.length + (base ? 1 : 0) + 1));
    this.onChunk();
    return {
      base,
      models: models as Float32Array[],
      modelParameters: resolved.modelParameters,
      parameters: resolved.parameters,
      choices: this.plan.choices,
      name: spec.name,
      shape: chunkShape,
      offset: start,
      tensorLength: length,
    };
  }

  /** Drops the reused buffers (at the end of a merge). */
  release(): void {
    this.buffers = [];
  }

  private buffer(slot: number, bytes: number): ArrayBuffer {
    const current = this.buffers[slot];
    if (current && current.byteLength >= bytes) return current;
    const fresh = new ArrayBuffer(Math.max(bytes, 16));
    this.buffers[slot] = fresh;
    return fresh;
  }

  /** Visits the tensor's chunks of `step` elements in order, reading each from disk. */
  async forEachChunk(tensor: PlannedTensor, step: number, visit: (chunk: ChunkInput) => void | Promise<void>): Promise<void> {
    const length = tensor.spec.shape.reduce((a, b) => a * b, 1);
    for (let start = 0; start < length || (start === 0 && length === 0); start += step) {
      await visit(await this.read(tensor, start, Math.min(step, length - start)));
      if (length === 0) break;
    }
  }

  /** The tensor as `TensorChunks`: re-read from disk on every walk, or the one chunk already in memory. */
  chunksOf(tensor: PlannedTensor, step: number, held?: ChunkInput): TensorChunks {
    const { spec, resolved } = tensor;
    return {
      name: spec.name,
      shape: spec.shape,
      length: spec.shape.reduce((a, b) => a * b, 1),
      modelParameters: resolved?.modelParameters ?? [],
      parameters: resolved?.parameters ?? {},
      choices: this.plan.choices,
      forEachChunk: async (visit) => {
        if (held) await visit(held);
        else await this.forEachChunk(tensor, step, visit);
      },
    };
  }
}
