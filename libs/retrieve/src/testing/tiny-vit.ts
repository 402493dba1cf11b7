import { type Model, type RawConfig, createModel } from '@patchwork/models';
import { SeededRandom, tf } from '@patchwork/tensor';

/** An 8x8 one-channel ViT small enough for unit tests (5 tokens, hidden 16, 2 blocks). */
export const TINY_VIT: RawConfig = {
  model_type: 'vit',
  architectures: ['ViTForImageClassification'],
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 32,
  hidden_act: 'gelu',
  layer_norm_eps: 1e-12,
  image_size: 8,
  patch_size: 4,
  num_channels: 1,
  qkv_bias: true,
  id2label: { '0': 'a', '1': 'b' },
};

function vitShapes(config: RawConfig): Map<string, number[]> {
  const h = config['hidden_size'] as number;
  const inner = config['intermediate_size'] as number;
  const patch = config['patch_size'] as number;
  const size = config['image_size'] as number;
  const channels = config['num_channels'] as number;
  const labels = Object.keys(config['id2label'] as object).length;
  const shapes = new Map<string, number[]>([
    ['vit.embeddings.cls_token', [1, 1, h]],
    ['vit.embeddings.position_embeddings', [1, (size / patch) ** 2 + 1, h]],
    ['vit.embeddings.patch_embeddings.projection.weight', [h, channels, patch, patch]],
    ['vit.embeddings.patch_embeddings.projection.bias', [h]],
  ]);
  const linear = (name: string, inF: number, outF: number) => shapes.set(`${name}.weight`, [outF, inF]).set(`${name}.bias`, [outF]);
  const norm = (name: string) => shapes.set(`${name}.weight`, [h]).set(`${name}.bias`, [h]);
  for (let i = 0; i < (config['num_hidden_layers'] as number); i++) {
    const p = `vit.encoder.layer.${i}`;
    norm(`${p}.layernorm_before`);
    for (const m of ['query', 'key', 'value']) linear(`${p}.attention.attention.${m}`, h, h);
    linear(`${p}.attention.output.dense`, h, h);
    norm(`${p}.layernorm_after`);
    linear(`${p}.intermediate.dense`, h, inner);
    linear(`${p}.output.dense`, inner, h);
  }
  norm('vit.layernorm');
  linear('classifier', h, labels);
  return shapes;
}

/** `TINY_VIT` (or `config`) with seeded random weights; norm weights near 1 so activations stay sane. */
export function tinyVit(seed = 1, config: RawConfig = TINY_VIT): Model {
  const rng = new SeededRandom(seed);
  const weights = new Map<string, tf.Tensor>();
  for (const [key, shape] of vitShapes(config)) {
    const values = rng.fillGaussian(new Float32Array(shape.reduce((a, b) => a * b, 1))).map((v) => v * 0.3);
    if (/norm\.weight$|layernorm(_before|_after)?\.weight$/.test(key)) values.forEach((v, i) => (values[i] = 1 + v / 3));
    weights.set(key, tf.tensor(values, shape));
  }
  return createModel(config, weights);
}

/**
 * Synthetic 8x8 images whose class is a bright 2x2 square at a class-specific place (plus noise):
 * separable by any reasonable feature, so tests of the MOS flow can assert accuracy.
 */
export function squares(classes: readonly number[], perClass: number, seed: number): { inputs: Float32Array[]; labels: Int32Array } {
  const rng = new SeededRandom(seed);
  const inputs: Float32Array[] = [];
  const labels: number[] = [];
  for (let n = 0; n < perClass; n++) {
    for (const c of classes) {
      const image = rng.fillUniform(new Float32Array(64), 0, 0.2);
      const row = 2 * Math.floor(c / 4);
      const col = 2 * (c % 4);
      for (const [dr, dc] of [[0, 0], [0, 1], [1, 0], [1, 1]]) image[(row + dr) * 8 + col + dc] = 1;
      inputs.push(image);
      labels.push(c);
    }
  }
  return { inputs, labels: Int32Array.from(labels) };
}
