import { PatchworkError } from '@patchwork/errors';
import { type Activation, additiveAttentionMask, layerNorm, scaledDotProductAttention } from '@patchwork/models';
import { tf } from '@patchwork/tensor';

/** The widths and layout of a ladder side network. */
export interface SideDims {
  /** Backbone hidden size d. */
  readonly hidden: number;
  /** d / r. */
  readonly sideHidden: number;
  /** The backbone's head count (kept). */
  readonly heads: number;
  /** Backbone feed-forward size / r. */
  readonly sideInner: number;
  /** Backbone blocks with a side block, ascending. */
  readonly layers: readonly number[];
  readonly finalNorm: boolean;
}

/** How the side blocks compute: the backbone's block type at 1/r width. */
export interface SideStyle {
  readonly norm: 'post' | 'pre';
  readonly causal: boolean;
  readonly eps: number;
  readonly act: Activation;
  readonly gateTemperature: number;
}


/**
 * Every side-network tensor and its shape, in a fixed order (torch `[out, in]` weights):
 * `downsample.{j}` (j = 0 for the embeddings, i + 1 for the output of backbone block i),
 * `gate.{i}`, `block.{i}.{attn.q|k|v|o, ln_1, mlp.fc_in|fc_out, ln_2}`, `final_norm`, `upsample`.
 */
export function sideParamShapes(d: SideDims): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const lin = (name: string, o: number, i: number) => {
    out.set(`${name}.weight`, [o, i]);
    out.set(`${name}.bias`, [o]);
  };
  const norm = (name: string) => {
    out.set(`${name}.weight`, [d.sideHidden]);
    out.set(`${name}.bias`, [d.sideHidden]);
  };
  lin('downsample.0', d.sideHidden, d.hidden);
  for (const i of d.layers) {
    lin(`downsample.${i + 1}`, d.sideHidden, d.hidden);
    out.set(`gate.${i}`, [1]);
    const b = `block.${i}`;
    for (const name of ['attn.q', 'attn.k', 'attn.v', 'attn.o']) lin(`${b}.${name}`, d.sideHidden, d.sideHidden);
    norm(`${b}.ln_1`);
    lin(`${b}.mlp.fc_in`, d.sideInner, d.sideHidden);
    lin(`${b}.mlp.fc_out`, d.sideHidden, d.sideInner);
    norm(`${b}.ln_2`);
  }
  if (d.finalNorm) norm('final_norm');
  lin('upsample', d.hidden, d.sideHidden);
  return out;
}

export type ParamLookup = (name: string) => tf.Tensor;

function dense(p: ParamLookup, name: string, x: tf.Tensor): tf.Tensor {
  const w = p(`${name}.weight`);
  const shape = x.shape;
  const y = tf.add(tf.matMul(x.reshape([-1, shape[shape.length - 1]]), w, false, true), p(`${name}.bias`));
  return y.reshape([...shape.slice(0, -1), w.shape[0]]);
}

function heads(x: tf.Tensor, n: number): tf.Tensor {
  const [b, l, w] = x.shape;
  return x.reshape([b, l, n, w / n]).transpose([0, 2, 1, 3]);
}

function merge(x: tf.Tensor): tf.Tensor {
  const [b, n, l, hd] = x.shape;
  return x.transpose([0, 2, 1, 3]).reshape([b, l, n * hd]);
}

function sideBlock(p: ParamLookup, i: number, h: tf.Tensor, d: SideDims, s: SideStyle, mask: tf.Tensor | undefined): tf.Tensor {
  const b = `block.${i}`;
  const ln = (name: string, x: tf.Tensor) => layerNorm(x, p(`${b}.${name}.weight`), p(`${b}.${name}.bias`), s.eps);
  const attention = (x: tf.Tensor) => {
    const q = heads(dense(p, `${b}.attn.q`, x), d.heads);
    const k = heads(dense(p, `${b}.attn.k`, x), d.heads);
    const v = heads(dense(p, `${b}.attn.v`, x), d.heads);
    return dense(p, `${b}.attn.o`, merge(scaledDotProductAttention(q, k, v, mask, 1 / Math.sqrt(d.sideHidden / d.heads))));
  };
  const mlp = (x: tf.Tensor) => dense(p, `${b}.mlp.fc_out`, s.act(dense(p, `${b}.mlp.fc_in`, x)));
  if (s.norm === 'post') {
    const a = ln('ln_1', tf.add(attention(h), h));
    return ln('ln_2', tf.add(mlp(a), a));
  }
  const a = tf.add(h, attention(ln('ln_1', h)));
  return tf.add(a, mlp(ln('ln_2', a)));
}

/**
 * The ladder side network on the backbone's hidden states (`hidden[0]` the embedding output,
 * `hidden[i + 1]` block i's output): h = Down₀(hidden[0]); for each side layer i,
 * μ = σ(α_i / T), h ← μ·h + (1 − μ)·Down_{i+1}(hidden[i + 1]), h ← SideBlock_i(h); then the
 * optional final norm and Up back to the backbone width, `[B, L, d]`.
 */
export function sideForward(p: ParamLookup, d: SideDims, s: SideStyle, hidden: readonly tf.Tensor[], attentionMask: tf.Tensor | undefined): tf.Tensor {
  const last = d.layers.length === 0 ? -1 : d.layers[d.layers.length - 1];
  if (hidden.length < last + 2) throw new PatchworkError('INTERNAL', `side network needs ${last + 2} hidden states, got ${hidden.length}`);
  return tf.tidy(() => {
    const [batch, length] = hidden[0].shape;
    const mask = additiveAttentionMask(batch, length, attentionMask, s.causal);
    let h = dense(p, 'downsample.0', hidden[0]);
    for (const i of d.layers) {
      const mu = tf.sigmoid(tf.div(p(`gate.${i}`), s.gateTemperature));
      h = tf.add(tf.mul(mu, h), tf.mul(tf.sub(1, mu), dense(p, `downsample.${i + 1}`, hidden[i + 1])));
      h = sideBlock(p, i, h, d, s, mask);
    }
    if (d.finalNorm) h = layerNorm(h, p('final_norm.weight'), p('final_norm.bias'), s.eps);
    return dense(p, 'upsample', h);
  });
}


