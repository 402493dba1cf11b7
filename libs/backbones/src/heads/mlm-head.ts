import { invalidArgument } from '@patchwork/errors';
import { type Model, activation, layerNorm } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import type { ShapeTable } from '../init/parameter-shapes';

/**
 * transformers' `BertOnlyMLMHead` (the `cls.predictions` module of BertForMaskedLM), which
 * libs/models does not implement: dense H→H, the config's activation, LayerNorm, then a decoder
 * whose weight is the word-embedding table (tied, as `tie_word_embeddings` defaults to true for
 * BERT) plus its own bias. The keys are the ones transformers saves; the tied decoder weight is
 * not stored, exactly as `save_pretrained` leaves it out.
 */
export const MLM_HEAD_KEYS = {
  denseWeight: 'cls.predictions.transform.dense.weight',
  denseBias: 'cls.predictions.transform.dense.bias',
  normWeight: 'cls.predictions.transform.LayerNorm.weight',
  normBias: 'cls.predictions.transform.LayerNorm.bias',
  bias: 'cls.predictions.bias',
} as const;

export const WORD_EMBEDDINGS_KEY = 'bert.embeddings.word_embeddings.weight';

export function mlmHeadShapes(hidden: number, vocabSize: number): ShapeTable {
  return new Map([
    [MLM_HEAD_KEYS.denseWeight, [hidden, hidden]],
    [MLM_HEAD_KEYS.denseBias, [hidden]],
    [MLM_HEAD_KEYS.normWeight, [hidden]],
    [MLM_HEAD_KEYS.normBias, [hidden]],
    [MLM_HEAD_KEYS.bias, [vocabSize]],
  ]);
}

/** A BERT encoder from libs/models plus the MLM head above. Neither owns the other's tensors. */
export class BertMlm {
  private readonly act;
  private readonly eps: number;

  constructor(
    readonly encoder: Model,
    readonly head: ReadonlyMap<string, tf.Tensor>,
  ) {
    if (encoder.modelType !== 'bert') throw invalidArgument('encoder', `must be a BERT model, got ${encoder.modelType}`);
    for (const [key, shape] of mlmHeadShapes(encoder.hiddenSize, this.vocabSize)) {
      const t = head.get(key);
      if (t === undefined || t.shape.join() !== shape.join()) throw invalidArgument(`head.${key}`, `must be a tensor of shape [${shape.join(', ')}]`);
    }
    this.act = activation(String(encoder.config['hidden_act'] ?? 'gelu'), 'config.hidden_act');
    this.eps = Number(encoder.config['layer_norm_eps'] ?? 1e-12);
  }

  get vocabSize(): number {
    return (this.encoder.weights.get(WORD_EMBEDDINGS_KEY) as tf.Tensor).shape[0];
  }

  /**
   * Vocabulary logits `[P, V]` at `positions` (flat indices into `[B*L]`) of the final hidden
   * states. Only the selected rows go through the head, so the vocabulary-sized product costs P
   * rows instead of B*L (BERT masks ~15% of tokens).
   */
  logitsAt(inputIds: tf.Tensor, attentionMask: tf.Tensor | undefined, positions: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const out = this.encoder.forward({ inputIds, attentionMask }, { outputHiddenStates: true });
      const last = (out.hiddenStates as tf.Tensor[])[this.encoder.numLayers];
      const rows = tf.gather(last.reshape([-1, this.encoder.hiddenSize]), positions);
      return this.project(rows);
    });
  }

  /** The head on hidden vectors `[N, H]`. */
  project(hidden: tf.Tensor): tf.Tensor {
    const p = (k: string) => this.head.get(k) as tf.Tensor;
    return tf.tidy(() => {
      const dense = tf.add(tf.matMul(hidden, p(MLM_HEAD_KEYS.denseWeight), false, true), p(MLM_HEAD_KEYS.denseBias));
      const normed = layerNorm(this.act(dense), p(MLM_HEAD_KEYS.normWeight), p(MLM_HEAD_KEYS.normBias), this.eps);
      const embeddings = this.encoder.weights.get(WORD_EMBEDDINGS_KEY) as tf.Tensor;
      return tf.add(tf.matMul(normed, embeddings, false, true), p(MLM_HEAD_KEYS.bias));
    });
  }
}
