import type { Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { Prng, causalLmLoss, crossEntropy } from '@patchwork/training';
import { type TokenBlocks, gatherBlocks } from '../data/blocks';
import type { BertMlm } from '../heads/mlm-head';
import { type MlmMasking, maskBatch } from '../data/mlm-batch';

/** Generator stream of the evaluation masks ("EVAL"), apart from training streams. */
export const EVAL_MASK_STREAM = 0x4556414c;

/** Negative log-likelihood summed over predicted tokens, and which tokens those were. */
export interface LmScore {
  readonly perplexity: number;
  readonly nll: number;
  /** The predicted token ids, in order (the unigram baseline is scored on exactly these). */
  readonly targets: Int32Array;
}

function batches(count: number, size: number): number[][] {
  const out: number[][] = [];
  for (let start = 0; start < count; start += size) out.push(Array.from({ length: Math.min(size, count - start) }, (_, i) => start + i));
  return out;
}

/** Causal-LM perplexity over every block: each position t >= 1 is predicted from the ones before it. */
export function causalLmPerplexity(model: Model, blocks: TokenBlocks, batchSize = 16): LmScore {
  const L = blocks.length;
  let nll = 0;
  const targets = new Int32Array(blocks.count * (L - 1));
  let n = 0;
  for (const rows of batches(blocks.count, batchSize)) {
    const ids = gatherBlocks(blocks, rows);
    nll += tf.tidy(() => {
      const input = tf.tensor2d(ids, [rows.length, L], 'int32');
      return causalLmLoss(model.forward({ inputIds: input }).logits, input, 'sum').dataSync()[0];
    });
    for (let r = 0; r < rows.length; r++) for (let t = 1; t < L; t++) targets[n++] = ids[r * L + t];
  }
  return { perplexity: Math.exp(nll / n), nll, targets };
}

/**
 * Masked-LM perplexity: exp of the mean cross-entropy at masked positions, with BERT's 80/10/10
 * corruption drawn from a fixed generator so every model is scored on the same masks.
 */
export function maskedLmPerplexity(mlm: BertMlm, blocks: TokenBlocks, masking: MlmMasking, seed: number, batchSize = 16): LmScore {
  const rng = Prng.fromSeed(seed, EVAL_MASK_STREAM);
  const L = blocks.length;
  let nll = 0;
  const targets: number[] = [];
  for (const rows of batches(blocks.count, batchSize)) {
    const batch = maskBatch(gatherBlocks(blocks, rows), masking, rng);
    nll += tf.tidy(() => {
      const input = tf.tensor2d(batch.inputIds, [rows.length, L], 'int32');
      const logits = mlm.logitsAt(input, undefined, tf.tensor1d(batch.positions, 'int32'));
      return crossEntropy(logits, tf.tensor1d(batch.targets, 'int32'), 'sum').dataSync()[0];
    });
    targets.push(...batch.targets);
  }
  return { perplexity: Math.exp(nll / targets.length), nll, targets: Int32Array.from(targets) };
}
