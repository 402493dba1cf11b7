import { PatchworkError } from '@patchwork/errors';
import type { ModelInputs } from '@patchwork/models';
import { tf } from '@patchwork/tensor';

/** Token rows of one fixed length, right-padded. */
export interface TokenRows {
  readonly kind: 'tokens';
  readonly length: number;
  /** `[N * length]` token ids. */
  readonly ids: Int32Array;
  /** `[N * length]`, 1 for real tokens. */
  readonly mask: Int32Array;
  /**
   * Prompt rows: the position whose output predicts the label word (the mask token for a masked
   * LM, the last prompt token for a causal LM). Absent for plain classification rows.
   */
  readonly predictAt?: Int32Array;
}

/** Images as `[N, ...shape]` float pixels, already normalised for the model. */
export interface PixelRows {
  readonly kind: 'pixels';
  /** `[channels, height, width]`. */
  readonly shape: readonly [number, number, number];
  readonly values: Float32Array;
}

export type EncodedRows = TokenRows | PixelRows;

/** A batch as tensors; the caller disposes every tensor in it. */
export interface Batch {
  readonly inputs: ModelInputs;
  /** `[B]` int32 flat index `b * length + position` of each row's prediction position. */
  readonly predictAt?: tf.Tensor;
  readonly labels: tf.Tensor;
}

export function rowCount(rows: EncodedRows): number {
  if (rows.kind === 'tokens') return rows.ids.length / rows.length;
  return rows.values.length / (rows.shape[0] * rows.shape[1] * rows.shape[2]);
}

/** The rows at `indices`, as a new EncodedRows. */
export function selectRows(rows: EncodedRows, indices: readonly number[]): EncodedRows {
  if (rows.kind === 'pixels') {
    const size = rows.shape[0] * rows.shape[1] * rows.shape[2];
    const values = new Float32Array(indices.length * size);
    indices.forEach((r, i) => values.set(rows.values.subarray(r * size, (r + 1) * size), i * size));
    return { kind: 'pixels', shape: rows.shape, values };
  }
  const L = rows.length;
  const ids = new Int32Array(indices.length * L);
  const mask = new Int32Array(indices.length * L);
  indices.forEach((r, i) => {
    ids.set(rows.ids.subarray(r * L, (r + 1) * L), i * L);
    mask.set(rows.mask.subarray(r * L, (r + 1) * L), i * L);
  });
  const predictAt = rows.predictAt === undefined ? undefined : Int32Array.from(indices, (r) => rows.predictAt?.[r] as number);
  return { kind: 'tokens', length: L, ids, mask, predictAt };
}

/** Rows of one kind and width, stacked in order. */
export function concatRows(parts: readonly EncodedRows[]): EncodedRows {
  if (parts.length === 0) throw new PatchworkError('INTERNAL', 'no rows to concatenate');
  const first = parts[0];
  if (first.kind === 'pixels') {
    const values = new Float32Array(parts.reduce((n, p) => n + (p as PixelRows).values.length, 0));
    let at = 0;
    for (const p of parts as PixelRows[]) {
      values.set(p.values, at);
      at += p.values.length;
    }
    return { kind: 'pixels', shape: first.shape, values };
  }
  const rows = parts as TokenRows[];
  const total = rows.reduce((n, p) => n + p.ids.length, 0);
  const ids = new Int32Array(total);
  const mask = new Int32Array(total);
  let at = 0;
  for (const p of rows) {
    if (p.length !== first.length) throw new PatchworkError('INTERNAL', `rows of length ${p.length} and ${first.length}`);
    ids.set(p.ids, at);
    mask.set(p.mask, at);
    at += p.ids.length;
  }
  const predictAt = first.predictAt === undefined ? undefined : Int32Array.from(rows.flatMap((p) => Array.from(p.predictAt as Int32Array)));
  return { kind: 'tokens', length: first.length, ids, mask, predictAt };
}

/** Tensors for the rows at `indices` (labels from `labels`). */
export function batchOf(rows: EncodedRows, labels: Int32Array, indices: readonly number[]): Batch {
  const n = indices.length;
  if (n === 0) throw new PatchworkError('INTERNAL', 'empty batch');
  const picked = selectRows(rows, indices);
  const y = tf.tensor1d(Int32Array.from(indices, (i) => labels[i]), 'int32');
  if (picked.kind === 'pixels') {
    return { inputs: { pixelValues: tf.tensor4d(picked.values, [n, ...picked.shape]) }, labels: y };
  }
  const L = picked.length;
  const inputs: ModelInputs = { inputIds: tf.tensor2d(picked.ids, [n, L], 'int32'), attentionMask: tf.tensor2d(picked.mask, [n, L], 'int32') };
  const predictAt = picked.predictAt === undefined ? undefined : tf.tensor1d(Int32Array.from(picked.predictAt, (p, i) => i * L + p), 'int32');
  return { inputs, predictAt, labels: y };
}

/** Frees every tensor of a batch. */
export function disposeBatch(batch: Batch): void {
  tf.dispose([batch.inputs.inputIds, batch.inputs.attentionMask, batch.inputs.tokenTypeIds, batch.inputs.pixelValues, batch.predictAt, batch.labels].filter((t): t is tf.Tensor => t !== undefined));
}
