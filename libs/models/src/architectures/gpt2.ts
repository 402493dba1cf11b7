import { tf } from '@patchwork/tensor';
import type { ConfigReader } from '../config/config-reader';
import { type Activation, activation } from '../core/activations';
import { additiveAttentionMask, mergeHeads, scaledDotProductAttention, splitHeads } from '../core/attention';
import type { ForwardContext } from '../core/forward-context';
import { assertMaxLength, tokenBatch } from '../core/inputs';
import { ModelLayout } from '../core/layout';
import { layerNorm } from '../core/norms';
import type { Architecture, ArchitectureInstance, ForwardOutput, ModelInputs } from '../core/types';

interface Gpt2Config {
  vocabSize: number;
  hidden: number;
  heads: number;
  layers: number;
  positions: number;
  inner: number;
  eps: number;
  act: Activation;
  scaleAttnWeights: boolean;
  scaleByInverseLayerIdx: boolean;
  tied: boolean;
}

function readConfig(c: ConfigReader): Gpt2Config {
  const hidden = c.positiveInt(c.firstPresent('n_embd', 'hidden_size') ?? 'n_embd', 768);
  const heads = c.positiveInt(c.firstPresent('n_head', 'num_attention_heads') ?? 'n_head', 12);
  if (hidden % heads !== 0) c.fail('n_embd', `${hidden} is not divisible by n_head ${heads}`);
  if (c.bool('add_cross_attention', false)) c.fail('add_cross_attention', 'cross-attention (encoder-decoder GPT-2) is not supported');
  const config: Gpt2Config = {
    vocabSize: c.positiveInt('vocab_size', 50257),
    hidden,
    heads,
    layers: c.positiveInt(c.firstPresent('n_layer', 'num_hidden_layers') ?? 'n_layer', 12),
    positions: c.positiveInt(c.firstPresent('n_positions', 'max_position_embeddings') ?? 'n_positions', 1024),
    inner: c.has('n_inner') ? c.positiveInt('n_inner') : 4 * hidden,
    eps: c.positiveNumber('layer_norm_epsilon', 1e-5),
    act: (x) => x,
    scaleAttnWeights: c.bool('scale_attn_weights', true),
    scaleByInverseLayerIdx: c.bool('scale_attn_by_inverse_layer_idx', false),
    tied: c.bool('tie_word_embeddings', true),
  };
  const actName = c.string('activation_function', 'gelu_new');
  c.done();
  config.act = activation(actName, 'config.activation_function');
  return config;
}

function buildLayout(cfg: Gpt2Config): ModelLayout {
  const layout = new ModelLayout()
    .param('transformer.wte.weight', [cfg.vocabSize, cfg.hidden])
    .param('transformer.wpe.weight', [cfg.positions, cfg.hidden]);
  for (let i = 0; i < cfg.layers; i++) {
    const p = `transformer.h.${i}`;
    layout
      .layerNorm(`${p}.ln_1`, cfg.hidden)
      .linear(`${p}.attn.c_attn`, cfg.hidden, 3 * cfg.hidden, { layout: 'in_out' })
      .linear(`${p}.attn.c_proj`, cfg.hidden, cfg.hidden, { layout: 'in_out' })
      .layerNorm(`${p}.ln_2`, cfg.hidden)
      .linear(`${p}.mlp.c_fc`, cfg.hidden, cfg.inner, { layout: 'in_out' })
      .linear(`${p}.mlp.c_proj`, cfg.inner, cfg.hidden, { layout: 'in_out' });
  }
  layout.layerNorm('transformer.ln_f', cfg.hidden);
  layout.linear('lm_head', cfg.hidden, cfg.vocabSize, { bias: false, tiedTo: cfg.tied ? 'transformer.wte.weight' : undefined });
  return layout;
}

function norm(ctx: ForwardContext, module: string, x: tf.Tensor, eps: number): tf.Tensor {
  return layerNorm(x, ctx.param(`${module}.weight`), ctx.param(`${module}.bias`), eps);
}

class Gpt2 implements ArchitectureInstance {
  readonly layout: ModelLayout;

  constructor(private readonly cfg: Gpt2Config) {
    this.layout = buildLayout(cfg);
  }

  get numLayers(): number {
    return this.cfg.layers;
  }

  get hiddenSize(): number {
    return this.cfg.hidden;
  }

  forward(ctx: ForwardContext, inputs: ModelInputs, outputHiddenStates: boolean): ForwardOutput {
    const cfg = this.cfg;
    const { ids, mask, batch, length } = tokenBatch(inputs, cfg.vocabSize);
    assertMaxLength(length, cfg.positions);
    const headDim = cfg.hidden / cfg.heads;
    return tf.tidy(() => {
      // GPT-2 numbers positions 0..L-1 whatever the padding, like transformers without position_ids.
      const positions = tf.gather(ctx.param('transformer.wpe.weight'), tf.range(0, length, 1, 'int32'));
      let h = tf.add(tf.gather(ctx.param('transformer.wte.weight'), ids), positions);
      const attnMask = additiveAttentionMask(batch, length, mask, true);
      const hidden: tf.Tensor[] = [];
      for (let i = 0; i < cfg.layers; i++) {
        if (outputHiddenStates) hidden.push(h);
        const p = `transformer.h.${i}`;
        const qkv = ctx.linear(`${p}.attn.c_attn`, norm(ctx, `${p}.ln_1`, h, cfg.eps));
        const [q, k, v] = tf.split(qkv, 3, -1).map((t) => splitHeads(t, cfg.heads, headDim));
        let scale = cfg.scaleAttnWeights ? 1 / Math.sqrt(headDim) : 1;
        if (cfg.scaleByInverseLayerIdx) scale /= i + 1;
        const attn = mergeHeads(scaledDotProductAttention(q, k, v, attnMask, scale));
        h = tf.add(h, ctx.linear(`${p}.attn.c_proj`, attn));
        const inner = cfg.act(ctx.linear(`${p}.mlp.c_fc`, norm(ctx, `${p}.ln_2`, h, cfg.eps)));
        h = tf.add(h, ctx.linear(`${p}.mlp.c_proj`, inner));
      }
      h = norm(ctx, 'transformer.ln_f', h, cfg.eps);
      if (outputHiddenStates) hidden.push(h);
      const logits = ctx.linear('lm_head', h);
      return outputHiddenStates ? { logits, hiddenStates: hidden } : { logits };
    });
  }
}

export const gpt2: Architecture = {
  modelType: 'gpt2',
  classNames: ['GPT2LMHeadModel'],
  inputKind: 'tokens',
  basePrefix: 'transformer.',
  moduleAliases: [],
  instantiate: (config) => new Gpt2(readConfig(config)),
};
