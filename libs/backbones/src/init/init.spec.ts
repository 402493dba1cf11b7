import { createModel } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { type ShapeTable, bertShapes, gpt2Shapes, vitShapes } from './parameter-shapes';
import { seededInit, sinusoidalTable, transformersInitRule } from './seeded-init';

function modelFrom(config: Record<string, unknown>, shapes: ShapeTable) {
  const weights = new Map([...seededInit(shapes, transformersInitRule(0.02), 1)].map(([k, v]) => [k, tf.tensor(v, shapes.get(k))]));
  return createModel(config, weights);
}

describe('parameter shapes', () => {
  it('are exactly the parameters libs/models expects for GPT-2, BERT and ViT', () => {
    const models = [
      modelFrom({ model_type: 'gpt2', vocab_size: 30, n_positions: 8, n_embd: 16, n_layer: 2, n_head: 2, n_inner: 24 }, gpt2Shapes({ vocabSize: 30, positions: 8, hidden: 16, layers: 2, inner: 24 })),
      modelFrom(
        { model_type: 'bert', vocab_size: 30, max_position_embeddings: 8, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 24, num_labels: 3 },
        bertShapes({ vocabSize: 30, positions: 8, typeVocabSize: 2, hidden: 16, layers: 2, intermediate: 24, numLabels: 3 }),
      ),
      modelFrom(
        { model_type: 'vit', hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 24, image_size: 8, patch_size: 2, num_channels: 1, num_labels: 5 },
        vitShapes({ hidden: 16, layers: 2, intermediate: 24, imageSize: 8, patchSize: 2, channels: 1, numLabels: 5 }),
      ),
    ];
    for (const m of models) {
      expect(m.weights.size).toBeGreaterThan(0);
      m.dispose();
    }
  });
});

describe('seededInit', () => {
  const shapes: ShapeTable = new Map([
    ['transformer.wte.weight', [200, 50]],
    ['transformer.h.0.ln_1.weight', [50]],
    ['transformer.h.0.attn.c_attn.bias', [150]],
    ['transformer.h.0.attn.c_proj.weight', [50, 50]],
    ['bert.embeddings.LayerNorm.weight', [50]],
    ['vit.encoder.layer.0.layernorm_before.weight', [50]],
    ['cls.predictions.bias', [200]],
  ]);

  it('follows transformers: N(0, 0.02) weights, zero biases, unit norms, scaled GPT-2 residual projections', () => {
    const v = seededInit(shapes, transformersInitRule(0.02, 2), 7);
    const std = (a: Float32Array) => Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
    expect(std(v.get('transformer.wte.weight') as Float32Array)).toBeCloseTo(0.02, 3);
    expect(std(v.get('transformer.h.0.attn.c_proj.weight') as Float32Array)).toBeCloseTo(0.02 / 2, 3);
    for (const key of ['transformer.h.0.ln_1.weight', 'bert.embeddings.LayerNorm.weight', 'vit.encoder.layer.0.layernorm_before.weight']) {
      expect((v.get(key) as Float32Array).every((x) => x === 1)).toBe(true);
    }
    expect((v.get('transformer.h.0.attn.c_attn.bias') as Float32Array).every((x) => x === 0)).toBe(true);
    expect((v.get('cls.predictions.bias') as Float32Array).every((x) => x === 0)).toBe(true);
  });

  it('is a pure function of the seed', () => {
    const a = seededInit(shapes, transformersInitRule(0.02), 7).get('transformer.wte.weight') as Float32Array;
    const b = seededInit(shapes, transformersInitRule(0.02), 7).get('transformer.wte.weight') as Float32Array;
    const c = seededInit(shapes, transformersInitRule(0.02), 8).get('transformer.wte.weight') as Float32Array;
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
  });
});

describe('sinusoidalTable', () => {
  it('is the scaled sine/cosine table of Vaswani et al.', () => {
    const t = sinusoidalTable(5, 4, 0.5);
    // Position 3: dims 0/1 at frequency 1, dims 2/3 at frequency 10000^(-1/2) = 0.01.
    expect(t[3 * 4 + 0]).toBeCloseTo(0.5 * Math.sin(3), 6);
    expect(t[3 * 4 + 1]).toBeCloseTo(0.5 * Math.cos(3), 6);
    expect(t[3 * 4 + 2]).toBeCloseTo(0.5 * Math.sin(0.03), 6);
    expect(t[3 * 4 + 3]).toBeCloseTo(0.5 * Math.cos(0.03), 6);
    expect(Array.from(t.subarray(0, 4))).toEqual([0, 0.5, 0, 0.5]);
  });
});
