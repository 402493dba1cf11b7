import { ChoiceParameterSpec, ChunkMerger, StreamingMerge } from '../methods/merge-method';

/** Inputs, task vectors, their sparsified copies and masks, the output and its encoding, in float32. */
export function defaultBytesPerElement(inputs: number): number {
  return 4 * (3 * inputs + 4);
}

/** One StreamingMerge per value of a choice parameter (`semantics`, `scope`), picked per tensor. */
export function streamingByChoice(spec: ChoiceParameterSpec, table: Record<string, StreamingMerge>): StreamingMerge {
  const pick = (choices: Record<string, string> | undefined): StreamingMerge => table[choices?.[spec.name] ?? (spec.default as string)];
  return {
    prepare: (tensor) => pick(tensor.choices).prepare(tensor),
    atom: (shape, parameters, choices) => pick(choices).atom?.(shape, parameters, choices) ?? 1,
    bytesPerElement: (inputs, choices) => pick(choices).bytesPerElement?.(inputs, choices) ?? defaultBytesPerElement(inputs),
  };
}

/** A method whose merge is elementwise (position-keyed draws aside): each chunk merges on its own. */
export function elementwiseStreaming(merge: ChunkMerger, bytesPerElement?: (inputs: number) => number): StreamingMerge {
  return { prepare: () => merge, bytesPerElement };
}
