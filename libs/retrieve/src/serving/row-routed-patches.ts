import type { LinearPatch, LinearPatchSet } from '@patchwork/models';
import { tf } from '@patchwork/tensor';

/** Consecutive batch rows `[start, end)` served through one adapter's patches (none: the base model). */
export interface RowSegment {
  readonly start: number;
  readonly end: number;
  readonly patches?: LinearPatchSet;
}

function rowSlice(t: tf.Tensor, start: number, end: number): tf.Tensor {
  const begin = t.shape.map((_, i) => (i === 0 ? start : 0));
  const size = t.shape.map((d, i) => (i === 0 ? end - start : d));
  return tf.slice(t, begin, size);
}

/**
 * One patch set for a batch that mixes adapters (the S-LoRA / Punica layout): every base
 * projection runs once over the whole batch, and each adapter's patch is applied to its own rows
 * of that projection's input and output. Segments must tile the batch in order.
 */
export class RowRoutedPatches implements LinearPatchSet {
  constructor(private readonly segments: readonly RowSegment[]) {}

  get(module: string): readonly LinearPatch[] | undefined {
    const perSegment = this.segments.map((s) => s.patches?.get(module));
    if (perSegment.every((p) => p === undefined || p.length === 0)) return undefined;
    if (this.segments.length === 1) return perSegment[0];
    return [
      (call, out) => {
        const pieces = this.segments.map((segment, i) => {
          const patches = perSegment[i];
          let y = rowSlice(out, segment.start, segment.end);
          if (patches === undefined || patches.length === 0) return y;
          const x = rowSlice(call.x, segment.start, segment.end);
          for (const patch of patches) y = patch({ ...call, x }, y);
          return y;
        });
        return tf.concat(pieces, 0);
      },
    ];
  }
}
