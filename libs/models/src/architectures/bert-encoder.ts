import { PatchworkError } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import type { ConfigReader } from '../config/config-reader';
import { type Activation, activation } from '../core/activations';
import { additiveAttentionMask, mergeHeads, scaledDotProductAttention, splitHeads } from '../core/attention';
import type { ForwardContext } from '../core/forward-context';
import type { ModelLayout } from '../core/layout';
import { layerNorm } from '../core/norms';

/** The post-LN encoder shared by BERT and RoBERTa. */
export interface BertEncoderConfig {
  vocabSize: number;
  typeVocabSize: number;
  hidden: number;
  heads: number;
  layers: number;
  intermediate: number;
  positions: number;
  eps: number;
  act: Activation;
  numLabels: number;
}

export function readBertEncoderConfig(c: ConfigReader): BertEncoderConfig {
  const hidden = c.positiveInt('hidden_size', 768);
  const heads = c.positiveInt('num_attention_heads', 12);
  if (hidden % heads !== 0) c.fail('hidden_size', `${hidden} is not divisible by num_attention_heads ${heads}`);
  if (c.bool('is_decoder', false)) c.fail('is_decoder', 'decoder (causal) BERT/RoBERTa is not supported');
  if (c.bool('add_cross_attention', false)) c.fail('add_cross_attention', 'cross-attention is not supported');
  const positionType = c.string('position_embedding_type', 'absolute');
  const cfg: BertEncoderConfig = {
    vocabSize: c.positiveInt('vocab_size', 30522),
    typeVocabSize: c.positiveInt('type_vocab_size', 2),
    hidden,
    heads,
    layers: c.positiveInt('num_hidden_layers', 12),
    intermediate: c.positiveInt('intermediate_size', 3072),
    positions: c.positiveInt('max_position_embeddings', 512),
    eps: c.positiveNumber('layer_norm_eps', 1e-12),
    act: (x) => x,
    numLabels: c.numLabels(),
  };
  const actName = c.string('hidden_act', 'gelu');
  c.done();
  if (positionType !== 'absolute') {
    throw new PatchworkError('UNIMPLEMENTED', `config.position_embedding_type: ${JSON.stringify(positionType)} is not supported (only "absolute")`);
  }
  cfg.act = activation(actName, 'config.hidden_act');
  return cfg;
}

/** Embedding tables, embedding LayerNorm and every encoder layer under `prefix` (`bert`, `roberta`). */
export function addBertEncoder(layout: ModelLayout, prefix: string, cfg: BertEncoderConfig): void {
  const e = `${prefix}.embeddings`;
  layout
    .param(`${e}.word_embeddings.weight`, [cfg.vocabSize, cfg.hidden])
    .param(`${e}.position_embeddings.weight`, [cfg.positions, cfg.hidden])
    .param(`${e}.token_type_embeddings.weight`, [cfg.typeVocabSize, cfg.hidden])
    .layerNorm(`${e}.LayerNorm`, cfg.hidden);
  for (let i = 0; i < cfg.layers; i++) {
    const p = `${prefix}.encoder.layer.${i}`;
    layout
      .linear(`${p}.attention.self.query`, cfg.hidden, cfg.hidden)
      .linear(`${p}.attention.self.key`, cfg.hidden, cfg.hidden)
      .linear(`${p}.attention.self.value`, cfg.hidden, cfg.hidden)
      .linear(`${p}.attention.output.dense`, cfg.hidden, cfg.hidden)
      .layerNorm(`${p}.attention.output.LayerNorm`, cfg.hidden)
      .linear(`${p}.intermediate.dense`, cfg.hidden, cfg.intermediate)
      .linear(`${p}.output.dense`, cfg.intermediate, cfg.hidden)
      .layerNorm(`${p}.output.LayerNorm`, cfg.hidden);
  }
}

function norm(ctx: ForwardContext, module: string, x: tf.Tensor, eps: number): tf.Tensor {
  return layerNorm(x, ctx.param(`${module}.weight`), ctx.param(`${module}.bias`), eps);
}

/**
 * Embeddings (word + position + token type, then LayerNorm) and the encoder stack. Returns the
 * last layer's output and, when asked, the embedding output plus every layer's output.
 */
export function runBertEncoder(
  ctx: ForwardContext,
  prefix: string,
  cfg: BertEncoderConfig,
  batch: { ids: tf.Tensor; positionIds: tf.Tensor; tokenTypeIds?: tf.Tensor; mask?: tf.Tensor },
  outputHiddenStates: boolean,
): { last: tf.Tensor; hiddenStates: tf.Tensor[] } {
  const e = `${prefix}.embeddings`;
  const [b, length] = batch.ids.shape;
  const headDim = cfg.hidden / cfg.heads;
  const words = tf.gather(ctx.param(`${e}.word_embeddings.weight`), batch.ids);
  const types = batch.tokenTypeIds ?? tf.zeros([b, length], 'int32');
  const embedded = tf.add(
    tf.add(words, tf.gather(ctx.param(`${e}.token_type_embeddings.weight`), types)),
    tf.gather(ctx.param(`${e}.position_embeddings.weight`), batch.positionIds),
  );
  let h = norm(ctx, `${e}.LayerNorm`, embedded, cfg.eps);
  const hiddenStates = outputHiddenStates ? [h] : [];
  const attnMask = additiveAttentionMask(b, length, batch.mask, false);
  const scale = 1 / Math.sqrt(headDim);
  for (let i = 0; i < cfg.layers; i++) {
    const p = `${prefix}.encoder.layer.${i}`;
    const q = splitHeads(ctx.linear(`${p}.attention.self.query`, h), cfg.heads, headDim);
    const k = splitHeads(ctx.linear(`${p}.attention.self.key`, h), cfg.heads, headDim);
    const v = splitHeads(ctx.linear(`${p}.attention.self.value`, h), cfg.heads, headDim);
    const context = mergeHeads(scaledDotProductAttention(q, k, v, attnMask, scale));
    const attended = norm(ctx, `${p}.attention.output.LayerNorm`, tf.add(ctx.linear(`${p}.attention.output.dense`, context), h), cfg.eps);
    const inner = cfg.act(ctx.linear(`${p}.intermediate.dense`, attended));
    h = norm(ctx, `${p}.output.LayerNorm`, tf.add(ctx.linear(`${p}.output.dense`, inner), attended), cfg.eps);
    if (outputHiddenStates) hiddenStates.push(h);
  }
  return { last: h, hiddenStates };
}

/** The first token's vector of each sequence, `[B, L, H] -> [B, H]`. */
export function firstToken(h: tf.Tensor): tf.Tensor {
  const [b, , hidden] = h.shape;
  return tf.slice(h, [0, 0, 0], [b, 1, hidden]).reshape([b, hidden]);
}
