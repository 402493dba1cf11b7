import { tf } from '@patchwork/tensor';
import type { ConfigReader } from '../config/config-reader';
import { type Activation, activation } from '../core/activations';
import { additiveAttentionMask, mergeHeads, scaledDotProductAttention, splitHeads } from '../core/attention';
import type { ForwardContext } from '../core/forward-context';
import { tokenBatch } from '../core/inputs';
import { ModelLayout } from '../core/layout';
import { rmsNorm } from '../core/norms';
import { type RopeSettings, applyRope, readRopeSettings, ropeInverseFrequencies, ropeTables } from '../core/rope';
import type { Architecture, ArchitectureInstance, ForwardOutput, ModelInputs } from '../core/types';

interface LlamaConfig {
  vocabSize: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  eps: number;
  act: Activation;
  attentionBias: boolean;
  mlpBias: boolean;
  tied: boolean;
  rope: RopeSettings;
}

function readConfig(c: ConfigReader): LlamaConfig {
  const hidden = c.positiveInt('hidden_size', 4096);
  const heads = c.positiveInt('num_attention_heads', 32);
  const kvHeads = c.positiveInt('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) c.fail('num_key_value_heads', `${kvHeads} does not divide num_attention_heads ${heads}`);
  if (!c.has('head_dim') && hidden % heads !== 0) c.fail('hidden_size', `${hidden} is not divisible by num_attention_heads ${heads}`);
  const headDim = c.has('head_dim') ? c.positiveInt('head_dim') : Math.floor(hidden / heads);
  if (headDim % 2 !== 0) c.fail('head_dim', `rotary embeddings need an even head_dim, got ${headDim}`);
  const cfg: LlamaConfig = {
    vocabSize: c.positiveInt('vocab_size', 32000),
    hidden,
    intermediate: c.positiveInt('intermediate_size', 11008),
    layers: c.positiveInt('num_hidden_layers', 32),
    heads,
    kvHeads,
    headDim,
    eps: c.positiveNumber('rms_norm_eps', 1e-6),
    act: (x) => x,
    attentionBias: c.bool('attention_bias', false),
    mlpBias: c.bool('mlp_bias', false),
    tied: c.bool('tie_word_embeddings', false),
    rope: { type: 'default', theta: 10000 },
  };
  const actName = c.string('hidden_act', 'silu');
  c.done();
  cfg.act = activation(actName, 'config.hidden_act');
  cfg.rope = readRopeSettings(c);
  return cfg;
}

/** LlamaForCausalLM: RMSNorm, rotary positions, grouped-query attention, gated (SwiGLU) MLP. */
class LlamaForCausalLM implements ArchitectureInstance {
  readonly layout = new ModelLayout();
  private readonly invFreq: Float32Array;

  constructor(private readonly cfg: LlamaConfig) {
    const { hidden, heads, kvHeads, headDim, intermediate } = cfg;
    this.invFreq = ropeInverseFrequencies(cfg.rope, headDim);
    this.layout.param('model.embed_tokens.weight', [cfg.vocabSize, hidden]);
    for (let i = 0; i < cfg.layers; i++) {
      const p = `model.layers.${i}`;
      const bias = cfg.attentionBias;
      this.layout
        .layerNorm(`${p}.input_layernorm`, hidden, false)
        .linear(`${p}.self_attn.q_proj`, hidden, heads * headDim, { bias })
        .linear(`${p}.self_attn.k_proj`, hidden, kvHeads * headDim, { bias })
        .linear(`${p}.self_attn.v_proj`, hidden, kvHeads * headDim, { bias })
        .linear(`${p}.self_attn.o_proj`, heads * headDim, hidden, { bias })
        .layerNorm(`${p}.post_attention_layernorm`, hidden, false)
        .linear(`${p}.mlp.gate_proj`, hidden, intermediate, { bias: cfg.mlpBias })
        .linear(`${p}.mlp.up_proj`, hidden, intermediate, { bias: cfg.mlpBias })
        .linear(`${p}.mlp.down_proj`, intermediate, hidden, { bias: cfg.mlpBias });
    }
    this.layout.layerNorm('model.norm', hidden, false);
    this.layout.linear('lm_head', hidden, cfg.vocabSize, { bias: false, tiedTo: cfg.tied ? 'model.embed_tokens.weight' : undefined });
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
    const scale = 1 / Math.sqrt(cfg.headDim);
    return tf.tidy(() => {
      // Positions are 0..L-1 whatever the padding, as LlamaModel derives them without position_ids.
      const { cos, sin } = ropeTables(this.invFreq, length);
      const attnMask = additiveAttentionMask(batch, length, mask, true);
      let h = tf.gather(ctx.param('model.embed_tokens.weight'), ids);
      const hidden: tf.Tensor[] = [];
      for (let i = 0; i < cfg.layers; i++) {
        if (outputHiddenStates) hidden.push(h);
        const p = `model.layers.${i}`;
        const x = rmsNorm(h, ctx.param(`${p}.input_layernorm.weight`), cfg.eps);
        const q = applyRope(splitHeads(ctx.linear(`${p}.self_attn.q_proj`, x), cfg.heads, cfg.headDim), cos, sin);
        const k = applyRope(splitHeads(ctx.linear(`${p}.self_attn.k_proj`, x), cfg.kvHeads, cfg.headDim), cos, sin);
        const v = splitHeads(ctx.linear(`${p}.self_attn.v_proj`, x), cfg.kvHeads, cfg.headDim);
        const attn = mergeHeads(scaledDotProductAttention(q, k, v, attnMask, scale));
        h = tf.add(h, ctx.linear(`${p}.self_attn.o_proj`, attn));
        const y = rmsNorm(h, ctx.param(`${p}.post_attention_layernorm.weight`), cfg.eps);
        const gated = tf.mul(cfg.act(ctx.linear(`${p}.mlp.gate_proj`, y)), ctx.linear(`${p}.mlp.up_proj`, y));
        h = tf.add(h, ctx.linear(`${p}.mlp.down_proj`, gated));
      }
      h = rmsNorm(h, ctx.param('model.norm.weight'), cfg.eps);
      if (outputHiddenStates) hidden.push(h);
      const logits = ctx.linear('lm_head', h);
      return outputHiddenStates ? { logits, hiddenStates: hidden } : { logits };
    });
  }
}

export const llama: Architecture = {
  modelType: 'llama',
  classNames: ['LlamaForCausalLM'],
  inputKind: 'tokens',
  basePrefix: 'model.',
  moduleAliases: [],
  instantiate: (config) => new LlamaForCausalLM(readConfig(config)),
};
