import { invalidArgument } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import type { ConfigReader } from '../config/config-reader';
import { type Activation, activation } from '../core/activations';
import { mergeHeads, scaledDotProductAttention, splitHeads } from '../core/attention';
import type { ForwardContext } from '../core/forward-context';
import { ModelLayout } from '../core/layout';
import { layerNorm } from '../core/norms';
import type { Architecture, ArchitectureInstance, ForwardOutput, ModuleAlias, ModelInputs } from '../core/types';
import { firstToken } from './bert-encoder';

interface VitConfig {
  hidden: number;
  heads: number;
  layers: number;
  intermediate: number;
  eps: number;
  act: Activation;
  imageSize: number;
  patch: number;
  channels: number;
  qkvBias: boolean;
  numLabels: number;
}

function readConfig(c: ConfigReader): VitConfig {
  const hidden = c.positiveInt('hidden_size', 768);
  const heads = c.positiveInt('num_attention_heads', 12);
  if (hidden % heads !== 0) c.fail('hidden_size', `${hidden} is not divisible by num_attention_heads ${heads}`);
  const imageSize = c.positiveInt('image_size', 224);
  const patch = c.positiveInt('patch_size', 16);
  if (imageSize % patch !== 0) c.fail('image_size', `${imageSize} is not divisible by patch_size ${patch}`);
  const cfg: VitConfig = {
    hidden,
    heads,
    layers: c.positiveInt('num_hidden_layers', 12),
    intermediate: c.positiveInt('intermediate_size', 3072),
    eps: c.positiveNumber('layer_norm_eps', 1e-12),
    act: (x) => x,
    imageSize,
    patch,
    channels: c.positiveInt('num_channels', 3),
    qkvBias: c.bool('qkv_bias', true),
    numLabels: c.numLabels(),
  };
  const actName = c.string('hidden_act', 'gelu');
  c.done();
  cfg.act = activation(actName, 'config.hidden_act');
  return cfg;
}

/**
 * transformers 5 renamed ViT's modules in memory (and so in PEFT adapters and in state dicts it
 * saves) while checkpoints on the Hub keep the classic keys. The classic spelling is canonical here.
 */
export const VIT_MODULE_ALIASES: readonly ModuleAlias[] = [
  { canonical: 'vit.encoder.layer.{n}.attention.attention.query', alias: 'vit.layers.{n}.attention.q_proj' },
  { canonical: 'vit.encoder.layer.{n}.attention.attention.key', alias: 'vit.layers.{n}.attention.k_proj' },
  { canonical: 'vit.encoder.layer.{n}.attention.attention.value', alias: 'vit.layers.{n}.attention.v_proj' },
  { canonical: 'vit.encoder.layer.{n}.attention.output.dense', alias: 'vit.layers.{n}.attention.o_proj' },
  { canonical: 'vit.encoder.layer.{n}.intermediate.dense', alias: 'vit.layers.{n}.mlp.fc1' },
  { canonical: 'vit.encoder.layer.{n}.output.dense', alias: 'vit.layers.{n}.mlp.fc2' },
  { canonical: 'vit.encoder.layer.{n}.layernorm_before', alias: 'vit.layers.{n}.layernorm_before' },
  { canonical: 'vit.encoder.layer.{n}.layernorm_after', alias: 'vit.layers.{n}.layernorm_after' },
];

/** `[B, C, H, W] -> [B, patches, C*p*p]`, patches row-major, each flattened as (channel, row, col). */
export function patchify(pixels: tf.Tensor, patch: number): tf.Tensor {
  const [b, c, height, width] = pixels.shape;
  const rows = height / patch;
  const cols = width / patch;
  return tf.tidy(() =>
    pixels
      .reshape([b, c, rows, patch, cols, patch])
      .transpose([0, 2, 4, 1, 3, 5])
      .reshape([b, rows * cols, c * patch * patch]),
  );
}

function norm(ctx: ForwardContext, module: string, x: tf.Tensor, eps: number): tf.Tensor {
  return layerNorm(x, ctx.param(`${module}.weight`), ctx.param(`${module}.bias`), eps);
}

/** ViTForImageClassification: patch embedding, [CLS], pre-LN encoder, final LayerNorm, classifier on [CLS]. */
class VitForImageClassification implements ArchitectureInstance {
  readonly layout = new ModelLayout();
  private readonly numPatches: number;

  constructor(private readonly cfg: VitConfig) {
    this.numPatches = (cfg.imageSize / cfg.patch) ** 2;
    const h = cfg.hidden;
    this.layout
      .param('vit.embeddings.cls_token', [1, 1, h])
      .param('vit.embeddings.position_embeddings', [1, this.numPatches + 1, h])
      .patchConv('vit.embeddings.patch_embeddings.projection', cfg.channels, cfg.patch, h);
    for (let i = 0; i < cfg.layers; i++) {
      const p = `vit.encoder.layer.${i}`;
      this.layout
        .layerNorm(`${p}.layernorm_before`, h)
        .linear(`${p}.attention.attention.query`, h, h, { bias: cfg.qkvBias })
        .linear(`${p}.attention.attention.key`, h, h, { bias: cfg.qkvBias })
        .linear(`${p}.attention.attention.value`, h, h, { bias: cfg.qkvBias })
        .linear(`${p}.attention.output.dense`, h, h)
        .layerNorm(`${p}.layernorm_after`, h)
        .linear(`${p}.intermediate.dense`, h, cfg.intermediate)
        .linear(`${p}.output.dense`, cfg.intermediate, h);
    }
    this.layout.layerNorm('vit.layernorm', h).linear('classifier', h, cfg.numLabels);
  }

  get numLayers(): number {
    return this.cfg.layers;
  }

  get hiddenSize(): number {
    return this.cfg.hidden;
  }

  private validate(inputs: ModelInputs): tf.Tensor {
    const { pixelValues } = inputs;
    if (pixelValues === undefined) throw invalidArgument('pixel_values', 'is required by this vision model');
    for (const [field, value] of [['input_ids', inputs.inputIds], ['attention_mask', inputs.attentionMask], ['token_type_ids', inputs.tokenTypeIds]] as const) {
      if (value !== undefined) throw invalidArgument(field, 'is not an input of this vision model');
    }
    const { channels, imageSize } = this.cfg;
    const [b, c, height, width] = pixelValues.shape;
    if (pixelValues.rank !== 4 || b === 0 || c !== channels || height !== imageSize || width !== imageSize) {
      throw invalidArgument('pixel_values', `must be [batch, ${channels}, ${imageSize}, ${imageSize}], got [${pixelValues.shape.join(', ')}]`);
    }
    if (pixelValues.dtype !== 'float32') throw invalidArgument('pixel_values', `must be float32, got ${pixelValues.dtype}`);
    return pixelValues;
  }

  forward(ctx: ForwardContext, inputs: ModelInputs, outputHiddenStates: boolean): ForwardOutput {
    const cfg = this.cfg;
    const pixels = this.validate(inputs);
    const batch = pixels.shape[0];
    const headDim = cfg.hidden / cfg.heads;
    const scale = 1 / Math.sqrt(headDim);
    return tf.tidy(() => {
      const patches = ctx.linear('vit.embeddings.patch_embeddings.projection', patchify(pixels, cfg.patch));
      const cls = tf.tile(ctx.param('vit.embeddings.cls_token'), [batch, 1, 1]);
      let h = tf.add(tf.concat([cls, patches], 1), ctx.param('vit.embeddings.position_embeddings'));
      const hiddenStates = outputHiddenStates ? [h] : [];
      for (let i = 0; i < cfg.layers; i++) {
        const p = `vit.encoder.layer.${i}`;
        const x = norm(ctx, `${p}.layernorm_before`, h, cfg.eps);
        const q = splitHeads(ctx.linear(`${p}.attention.attention.query`, x), cfg.heads, headDim);
        const k = splitHeads(ctx.linear(`${p}.attention.attention.key`, x), cfg.heads, headDim);
        const v = splitHeads(ctx.linear(`${p}.attention.attention.value`, x), cfg.heads, headDim);
        const context = mergeHeads(scaledDotProductAttention(q, k, v, undefined, scale));
        h = tf.add(ctx.linear(`${p}.attention.output.dense`, context), h);
        const inner = cfg.act(ctx.linear(`${p}.intermediate.dense`, norm(ctx, `${p}.layernorm_after`, h, cfg.eps)));
        h = tf.add(ctx.linear(`${p}.output.dense`, inner), h);
        if (outputHiddenStates) hiddenStates.push(h);
      }
      const logits = ctx.linear('classifier', firstToken(norm(ctx, 'vit.layernorm', h, cfg.eps)));
      return outputHiddenStates ? { logits, hiddenStates } : { logits };
    });
  }
}

export const vit: Architecture = {
  modelType: 'vit',
  classNames: ['ViTForImageClassification'],
  inputKind: 'pixels',
  basePrefix: 'vit.',
  moduleAliases: VIT_MODULE_ALIASES,
  instantiate: (config) => new VitForImageClassification(readConfig(config)),
};
