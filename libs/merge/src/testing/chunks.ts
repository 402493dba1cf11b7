/** Spec-only helpers (not exported from the package): in-memory tensors cut into chunks. */
import { ChunkInput, MergeMethod, StreamingMerge, TensorChunks, TensorMergeInput } from '../methods/merge-method';

/** Parameters with the method's defaults filled in, as the planner resolves them. */
export function withDefaults(
  method: MergeMethod,
  base: Float32Array | undefined,
  models: Float32Array[],
  model: Record<string, number>[],
  global: Record<string, number> = {},
  choices: Record<string, string> = {},
  shape: number[] = [models[0].length],
): TensorMergeInput {
  const defaults = (scope: 'model' | 'global') =>
    Object.fromEntries(method.parameters.filter((p) => p.scope === scope && p.type !== 'choice' && p.default !== undefined).map((p) => [p.name, p.default as number]));
  return {
    base,
    models,
    modelParameters: model.map((p) => ({ ...defaults('model'), ...p })),
    parameters: { ...defaults('global'), ...global },
    choices,
    name: 'layers.0.w',
    shape,
  };
}

/**
 * The input cut into chunks of `rows` dim-0 rows (elements for rank <= 1), widened to whole
 * multiples of `atom` elements as the executor does.
 */
export function chunksOf(input: TensorMergeInput, rows: number, atom = 1): ChunkInput[] {
  const shape = input.shape ?? [input.models[0].length];
  const length = input.models[0].length;
  const rowLength = Math.max(shape.length >= 2 && shape[0] > 0 ? length / shape[0] : 1, atom);
  const step = Math.max(1, rows) * rowLength;
  const out: ChunkInput[] = [];
  for (let start = 0; start < length || (length === 0 && out.length === 0); start += step) {
    const end = Math.min(length, start + step);
    const chunkShape = shape.length >= 2 ? [((end - start) * shape[0]) / length, ...shape.slice(1)] : [end - start];
    out.push({
      ...input,
      base: input.base?.subarray(start, end),
      models: input.models.map((m) => m.subarray(start, end)),
      shape: chunkShape,
      offset: start,
      tensorLength: length,
    });
    if (length === 0) break;
  }
  return out;
}

/** Runs a method's streaming merge over the chunks and concatenates the outputs. */
export async function mergeInChunks(method: MergeMethod, input: TensorMergeInput, rows: number, streaming: StreamingMerge | undefined = method.streaming): Promise<{ out: Float32Array; walks: number }> {
  if (!streaming) throw new Error(`${method.name} has no streaming merge`);
  const atom = streaming.atom?.(input.shape ?? [input.models[0].length], input.parameters, input.choices ?? {}) ?? 1;
  const chunks = chunksOf(input, rows, atom);
  let walks = 0;
  const tensor: TensorChunks = {
    name: input.name ?? '',
    shape: input.shape ?? [input.models[0].length],
    length: input.models[0].length,
    modelParameters: input.modelParameters,
    parameters: input.parameters,
    choices: input.choices ?? {},
    forEachChunk: async (visit) => {
      walks++;
      for (const chunk of chunks) await visit(chunk);
    },
  };
  const merger = await streaming.prepare(tensor);
  const out = new Float32Array(tensor.length);
  for (const chunk of chunks) out.set(merger(chunk), chunk.offset);
  return { out, walks };
}
