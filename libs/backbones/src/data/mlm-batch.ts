import { type Prng, maskTokens } from '@patchwork/training';

/** How BERT pre-training corrupts its input. */
export interface MlmMasking {
  readonly maskTokenId: number;
  readonly vocabSize: number;
  /** Never selected ([CLS], [SEP], [PAD], ...). */
  readonly specialTokenIds: ReadonlySet<number>;
  readonly mlmProbability: number;
}

/** A masked batch, with the targets gathered: the head only runs at `positions`. */
export interface MaskedBatch {
  readonly inputIds: Int32Array;
  /** Flat indices into the batch's `[B*L]` tokens. */
  readonly positions: Int32Array;
  /** The original id at each position. */
  readonly targets: Int32Array;
}

/**
 * Masks a batch (`maskTokens`: 15% of eligible tokens, 80/10/10). A batch that happens to draw no
 * target at all gets its first eligible token as one, so every batch has a loss and a gradient.
 */
export function maskBatch(ids: Int32Array, masking: MlmMasking, rng: Prng): MaskedBatch {
  const { inputIds, labels } = maskTokens(ids, { rng, ...masking });
  const positions: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0) positions.push(i);
  if (positions.length === 0) {
    const first = ids.findIndex((id) => !masking.specialTokenIds.has(id));
    if (first >= 0) {
      inputIds[first] = masking.maskTokenId;
      positions.push(first);
    }
  }
  return { inputIds, positions: Int32Array.from(positions), targets: Int32Array.from(positions, (p) => ids[p]) };
}
