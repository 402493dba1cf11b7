import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type Model, type RawConfig, createModel } from '@patchwork/models';
import { tf, writeSafetensors } from '@patchwork/tensor';

/** `<repo>/../shared/fixtures`, where the peer reference checkpoints and tokenizers live. */
export const FIXTURES = path.resolve(__dirname, '../../../../../shared/fixtures');
export const PEER_MODELS = path.join(FIXTURES, 'peer', 'models');
export const PEER_ADAPTERS = path.join(FIXTURES, 'peer', 'adapters');
export const PEER_TOKENIZERS = path.join(FIXTURES, 'peer', 'tokenizers');

type Shapes = Array<[string, number[]]>;

function layerNorm(prefix: string, size: number): Shapes {
  return [
    [`${prefix}.weight`, [size]],
    [`${prefix}.bias`, [size]],
  ];
}

function linear(prefix: string, inF: number, outF: number, transposed = false): Shapes {
  return [
    [`${prefix}.weight`, transposed ? [inF, outF] : [outF, inF]],
    [`${prefix}.bias`, [outF]],
  ];
}

function build(config: RawConfig, shapes: Shapes, seed: number): Model {
  const weights = new Map<string, tf.Tensor>();
  shapes.forEach(([key, shape], i) => {
    const isNorm = /(LayerNorm|ln_\w+|layernorm\w*)\.weight$/.test(key);
    weights.set(key, tf.tidy(() => (isNorm ? tf.add(1, tf.randomNormal(shape, 0, 0.05, 'float32', seed * 1000 + i)) : tf.randomNormal(shape, 0, 0.3, 'float32', seed * 1000 + i))));
  });
  return createModel(config, weights);
}

/** A GPT-2 LM with random weights: 2 layers of width 16. */
export function tinyGpt2(vocabSize: number, positions = 32, seed = 1): Model {
  const e = 16;
  const config: RawConfig = { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: vocabSize, n_embd: e, n_head: 2, n_layer: 2, n_positions: positions, layer_norm_epsilon: 1e-5 };
  const shapes: Shapes = [
    ['transformer.wte.weight', [vocabSize, e]],
    ['transformer.wpe.weight', [positions, e]],
  ];
  for (let l = 0; l < 2; l++) {
    const p = `transformer.h.${l}`;
    shapes.push(
      ...layerNorm(`${p}.ln_1`, e),
      ...linear(`${p}.attn.c_attn`, e, 3 * e, true),
      ...linear(`${p}.attn.c_proj`, e, e, true),
      ...layerNorm(`${p}.ln_2`, e),
      ...linear(`${p}.mlp.c_fc`, e, 4 * e, true),
      ...linear(`${p}.mlp.c_proj`, 4 * e, e, true),
    );
  }
  shapes.push(...layerNorm('transformer.ln_f', e));
  return build(config, shapes, seed);
}

/** A BERT sequence classifier with random weights. */
export function tinyBert(vocabSize: number, labels: readonly string[], positions = 64, seed = 2): Model {
  const h = 16;
  const inner = 32;
  const config: RawConfig = {
    model_type: 'bert',
    architectures: ['BertForSequenceClassification'],
    vocab_size: vocabSize,
    hidden_size: h,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: inner,
    max_position_embeddings: positions,
    type_vocab_size: 2,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
  };
  const p = 'bert.encoder.layer.0';
  const shapes: Shapes = [
    ['bert.embeddings.word_embeddings.weight', [vocabSize, h]],
    ['bert.embeddings.position_embeddings.weight', [positions, h]],
    ['bert.embeddings.token_type_embeddings.weight', [2, h]],
    ...layerNorm('bert.embeddings.LayerNorm', h),
    ...linear(`${p}.attention.self.query`, h, h),
    ...linear(`${p}.attention.self.key`, h, h),
    ...linear(`${p}.attention.self.value`, h, h),
    ...linear(`${p}.attention.output.dense`, h, h),
    ...layerNorm(`${p}.attention.output.LayerNorm`, h),
    ...linear(`${p}.intermediate.dense`, h, inner),
    ...linear(`${p}.output.dense`, inner, h),
    ...layerNorm(`${p}.output.LayerNorm`, h),
    ...linear('bert.pooler.dense', h, h),
    ...linear('classifier', h, labels.length),
  ];
  return build(config, shapes, seed);
}

/** A ViT image classifier for 8x8 grey images (the digits), random weights. */
export function tinyVit(numLabels: number, seed = 3): Model {
  const h = 16;
  const inner = 32;
  const config: RawConfig = {
    model_type: 'vit',
    architectures: ['ViTForImageClassification'],
    hidden_size: h,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: inner,
    image_size: 8,
    patch_size: 4,
    num_channels: 1,
    num_labels: numLabels,
  };
  const p = 'vit.encoder.layer.0';
  const shapes: Shapes = [
    ['vit.embeddings.cls_token', [1, 1, h]],
    ['vit.embeddings.position_embeddings', [1, 5, h]],
    ['vit.embeddings.patch_embeddings.projection.weight', [h, 1, 4, 4]],
    ['vit.embeddings.patch_embeddings.projection.bias', [h]],
    ...linear(`${p}.attention.attention.query`, h, h),
    ...linear(`${p}.attention.attention.key`, h, h),
    ...linear(`${p}.attention.attention.value`, h, h),
    ...linear(`${p}.attention.output.dense`, h, h),
    ...linear(`${p}.intermediate.dense`, h, inner),
    ...linear(`${p}.output.dense`, inner, h),
    ...layerNorm(`${p}.layernorm_before`, h),
    ...layerNorm(`${p}.layernorm_after`, h),
    ...layerNorm('vit.layernorm', h),
    ...linear('classifier', h, numLabels),
  ];
  return build(config, shapes, seed);
}

/** A random tiny ViT for 8x8 digits saved in the Hugging Face layout (tests of the CLI and services). */
export async function saveTinyVit(dir: string, seed: number): Promise<string> {
  const model = tinyVit(10, seed);
  try {
    await fs.mkdir(dir, { recursive: true });
    const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
    for (const [key, tensor] of model.weights) tensors[key] = { dtype: 'F32', shape: tensor.shape, data: tensor.dataSync() as Float32Array };
    await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(model.config));
  } finally {
    model.dispose();
  }
  return dir;
}
