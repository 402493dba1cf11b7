import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import type { ModelInputs } from './types';

export interface TokenBatch {
  readonly ids: tf.Tensor;
  readonly mask?: tf.Tensor;
  readonly tokenTypeIds?: tf.Tensor;
  readonly batch: number;
  readonly length: number;
}

function assertSameShape(name: string, t: tf.Tensor | undefined, shape: readonly number[]): void {
  if (t !== undefined && (t.rank !== 2 || t.shape[0] !== shape[0] || t.shape[1] !== shape[1])) {
    throw invalidArgument(name, `must have the shape of input_ids [${shape.join(', ')}], got [${t.shape.join(', ')}]`);
  }
}

/** Reads the min and max of an int tensor in one sync round trip. */
function intRange(t: tf.Tensor): [number, number] {
  const range = tf.tidy(() => tf.stack([tf.min(t), tf.max(t)]));
  try {
    const [lo, hi] = range.dataSync();
    return [lo, hi];
  } finally {
    range.dispose();
  }
}

/**
 * Validates token inputs: rank-2 int32 ids inside the vocabulary (some backends' gather returns
 * zeros for an out-of-range id instead of failing), and masks of the same shape.
 */
export function tokenBatch(inputs: ModelInputs, vocabSize: number, typeVocabSize?: number): TokenBatch {
  const ids = inputs.inputIds;
  if (ids === undefined) throw invalidArgument('input_ids', 'is required by this text model');
  if (inputs.pixelValues !== undefined) throw invalidArgument('pixel_values', 'is not an input of this text model');
  if (ids.rank !== 2 || ids.size === 0) throw invalidArgument('input_ids', `must be a non-empty [batch, length] tensor, got shape [${ids.shape.join(', ')}]`);
  if (ids.dtype !== 'int32') throw invalidArgument('input_ids', `must be int32, got ${ids.dtype}`);
  assertSameShape('attention_mask', inputs.attentionMask, ids.shape);
  assertSameShape('token_type_ids', inputs.tokenTypeIds, ids.shape);
  const [lo, hi] = intRange(ids);
  if (lo < 0 || hi >= vocabSize) throw new PatchworkError('INVALID_ARGUMENT', `input_ids: token ids must lie in [0, ${vocabSize}), got values in [${lo}, ${hi}]`);
  if (inputs.tokenTypeIds !== undefined) {
    if (typeVocabSize === undefined) throw invalidArgument('token_type_ids', 'is not an input of this model');
    if (inputs.tokenTypeIds.dtype !== 'int32') throw invalidArgument('token_type_ids', `must be int32, got ${inputs.tokenTypeIds.dtype}`);
    const [tlo, thi] = intRange(inputs.tokenTypeIds);
    if (tlo < 0 || thi >= typeVocabSize) throw invalidArgument('token_type_ids', `must lie in [0, ${typeVocabSize}), got values in [${tlo}, ${thi}]`);
  }
  return { ids, mask: inputs.attentionMask, tokenTypeIds: inputs.tokenTypeIds, batch: ids.shape[0] as number, length: ids.shape[1] as number };
}

/** Fails when a sequence is longer than the learned position table. */
export function assertMaxLength(length: number, maxPositions: number): void {
  if (length > maxPositions) throw invalidArgument('input_ids', `sequence length ${length} exceeds the model's ${maxPositions} positions`);
}
