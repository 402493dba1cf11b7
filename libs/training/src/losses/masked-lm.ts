import { ViolationCollector, invalidArgument } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import type { Prng } from '../random/prng';
import { IGNORE_INDEX, type Reduction, crossEntropy } from './cross-entropy';

export interface MaskTokensOptions {
  /** Draws every masking decision, so a seeded generator makes the masks reproducible. */
  readonly rng: Prng;
  readonly maskTokenId: number;
  /** Random replacements are drawn uniformly from [0, vocabSize), as transformers does. */
  readonly vocabSize: number;
  /** Ids never selected (padding, [CLS], [SEP], ...). */
  readonly specialTokenIds?: ReadonlySet<number>;
  /** Positions where this is 0 are never selected (padding). Same length as `inputIds`. */
  readonly attentionMask?: Int32Array | readonly number[];
  /** Chance that an eligible token becomes a prediction target. Default 0.15. */
  readonly mlmProbability?: number;
  /** Of the targets: share replaced by the mask token (default 0.8) and by a random token (default 0.1); the rest stay. */
  readonly maskReplaceProbability?: number;
  readonly randomReplaceProbability?: number;
}

export interface MaskedTokens {
  /** The corrupted ids the model reads. */
  readonly inputIds: Int32Array;
  /** The original id at every target, {@link IGNORE_INDEX} elsewhere. */
  readonly labels: Int32Array;
}

/**
 * BERT's masking (transformers' `DataCollatorForLanguageModeling.torch_mask_tokens`): each
 * eligible position becomes a target with probability 0.15; a target's input is replaced by the
 * mask token with probability 0.8, by a uniformly random id with probability 0.1, and otherwise
 * kept. Positions are visited in order and each decision draws from `rng` (one float per eligible
 * position, one more per target, and one integer per random replacement), so the result depends
 * only on the generator's state, not on the backend.
 */
export function maskTokens(inputIds: Int32Array | readonly number[], options: MaskTokensOptions): MaskedTokens {
  const p = options.mlmProbability ?? 0.15;
  const pMask = options.maskReplaceProbability ?? 0.8;
  const pRandom = options.randomReplaceProbability ?? 0.1;
  const problems = new ViolationCollector();
  if (!(p >= 0 && p <= 1)) problems.add('mlmProbability', `must be in [0, 1], got ${p}`);
  if (!(pMask >= 0 && pRandom >= 0 && pMask + pRandom <= 1)) problems.add('maskReplaceProbability', `with randomReplaceProbability must be non-negative and sum to at most 1, got ${pMask} + ${pRandom}`);
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < 1) problems.add('vocabSize', `must be a positive integer, got ${options.vocabSize}`);
  if (!Number.isInteger(options.maskTokenId) || options.maskTokenId < 0 || options.maskTokenId >= options.vocabSize) {
    problems.add('maskTokenId', `must be an id in [0, vocabSize), got ${options.maskTokenId}`);
  }
  if (options.attentionMask !== undefined && options.attentionMask.length !== inputIds.length) {
    problems.add('attentionMask', `must have ${inputIds.length} entries like inputIds, got ${options.attentionMask.length}`);
  }
  problems.throwIfAny();
  const { rng, specialTokenIds, attentionMask } = options;
  const ids = Int32Array.from(inputIds);
  const labels = new Int32Array(ids.length).fill(IGNORE_INDEX);
  for (let i = 0; i < ids.length; i++) {
    if (specialTokenIds?.has(ids[i]) || (attentionMask !== undefined && attentionMask[i] === 0)) continue;
    if (rng.nextFloat() >= p) continue;
    labels[i] = ids[i];
    const r = rng.nextFloat();
    if (r < pMask) ids[i] = options.maskTokenId;
    else if (r < pMask + pRandom) ids[i] = rng.nextInt(options.vocabSize);
  }
  return { inputIds: ids, labels };
}

/** Masked-LM loss: cross-entropy of `logits [B, L, V]` at every position whose label is not ignored. */
export function maskedLmLoss(logits: tf.Tensor, labels: tf.Tensor, reduction: Reduction = 'mean'): tf.Scalar {
  if (logits.rank !== 3) throw invalidArgument('logits', `must be [batch, length, vocab], got shape [${logits.shape.join(', ')}]`);
  const [b, length, vocab] = logits.shape as [number, number, number];
  if (labels.rank !== 2 || labels.shape[0] !== b || labels.shape[1] !== length) {
    throw invalidArgument('labels', `must be [${b}, ${length}] to match logits, got shape [${labels.shape.join(', ')}]`);
  }
  return tf.tidy(() => crossEntropy(logits.reshape([-1, vocab]), labels.reshape([-1]), reduction));
}
