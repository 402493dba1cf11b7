import { tf } from '@patchwork/tensor';

/** `torch.finfo(torch.float32).min`: transformers' additive value for masked-out attention scores. */
export const FLOAT32_MIN = -3.4028234663852886e38;

/**
 * The additive attention mask transformers builds for eager attention, `[B, 1, L, L]`: 0 where a
 * query may attend to a key, the float32 minimum elsewhere. Keys are masked where
 * `attentionMask == 0`; `causal` also masks keys after the query. A query row with no allowed key
 * (left padding in a decoder) ends up uniform over all keys after the softmax, as in transformers.
 * Returns undefined for a non-causal model without a padding mask: there is nothing to add.
 */
export function additiveAttentionMask(batch: number, length: number, attentionMask: tf.Tensor | undefined, causal: boolean): tf.Tensor | undefined {
  if (attentionMask === undefined && !causal) return undefined;
  return tf.tidy(() => {
    let allowed: tf.Tensor = tf.ones([batch, 1, length, length], 'bool');
    if (attentionMask !== undefined) {
      allowed = tf.logicalAnd(allowed, tf.notEqual(attentionMask, 0).reshape([batch, 1, 1, length]));
    }
    if (causal) {
      const pos = tf.range(0, length, 1, 'int32');
      const keyNotAfterQuery = tf.greaterEqual(pos.reshape([length, 1]), pos.reshape([1, length]));
      allowed = tf.logicalAnd(allowed, keyNotAfterQuery.reshape([1, 1, length, length]));
    }
    return tf.where(allowed, tf.zeros([], 'float32'), tf.scalar(FLOAT32_MIN, 'float32'));
  });
}

/** `[B, L, H*D] -> [B, H, L, D]`. */
export function splitHeads(x: tf.Tensor, heads: number, headDim: number): tf.Tensor {
  const [batch, length] = x.shape as number[];
  return tf.tidy(() => x.reshape([batch, length, heads, headDim]).transpose([0, 2, 1, 3]));
}

/** `[B, H, L, D] -> [B, L, H*D]`. */
export function mergeHeads(x: tf.Tensor): tf.Tensor {
  const [batch, heads, length, headDim] = x.shape as number[];
  return tf.tidy(() => x.transpose([0, 2, 1, 3]).reshape([batch, length, heads * headDim]));
}

/**
 * Eager scaled dot-product attention: softmax(q k^T * scale + mask) v. `q` is `[B, H, L, D]`;
 * `k` and `v` may have fewer heads `Hkv` dividing `H` (grouped-query attention), where query head
 * `h` reads key/value head `floor(h / (H / Hkv))` like transformers' `repeat_kv`. The groups are
 * folded into the query length instead of copying k and v `H / Hkv` times.
 */
export function scaledDotProductAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor | undefined, scale: number): tf.Tensor {
  const [batch, heads, length, headDim] = q.shape as number[];
  const [, kvHeads, keyLength] = k.shape as number[];
  if (heads % kvHeads !== 0) throw new Error(`attention: ${heads} query heads are not a multiple of ${kvHeads} key/value heads`);
  const groups = heads / kvHeads;
  return tf.tidy(() => {
    const qg = q.reshape([batch, kvHeads, groups * length, headDim]);
    let scores = tf.mul(tf.matMul(qg, k, false, true), scale).reshape([batch, heads, length, keyLength]);
    if (mask !== undefined) scores = tf.add(scores, mask);
    const probs = tf.softmax(scores, -1).reshape([batch, kvHeads, groups * length, keyLength]);
    return tf.matMul(probs, v).reshape([batch, heads, length, headDim]);
  });
}
