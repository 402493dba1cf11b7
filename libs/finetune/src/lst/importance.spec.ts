import type { Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { classificationLoss } from '@patchwork/training';
import { useWasmBackend } from '../testing/backend';
import { tinyModel } from '../testing/tiny-models';
import { blockSchema } from './block-schema';
import { fisherImportance, importanceKeys, magnitudeImportance } from './importance';

useWasmBackend();

describe('importance', () => {
  let model: Model;
  let keys: string[];
  let pixels: tf.Tensor[];
  let labels: tf.Tensor[];
  beforeAll(() => {
    model = tinyModel('vit', { hidden: 16, heads: 2, inner: 32, labels: 3 });
    keys = importanceKeys(model, blockSchema(model));
    pixels = [0, 1, 2].map((s) => tf.randomUniform([1, 1, 8, 8], 0, 1, 'float32', 20 + s));
    labels = [0, 2, 1].map((y) => tf.tensor1d([y], 'int32'));
  });
  afterAll(() => {
    tf.dispose([...pixels, ...labels]);
    model.dispose();
  });
  const lossOf = (n: number) => classificationLoss(model.forward({ pixelValues: pixels[n] }).logits, labels[n]);

  it('covers every block projection, norm and the embeddings', () => {
    expect(keys).toEqual(expect.arrayContaining(['vit.encoder.layer.1.attention.attention.query.weight', 'vit.encoder.layer.0.layernorm_after.bias', 'vit.embeddings.patch_embeddings.projection.weight']));
  });

  it('Fisher importance is the sum over examples of squared gradients', () => {
    const key = 'vit.encoder.layer.0.intermediate.dense.weight';
    const w = model.weights.get(key) as tf.Tensor;
    const fisher = fisherImportance(model, keys, 3, lossOf).get(key);
    const expected = tf.tidy(() => {
      let sum = tf.zerosLike(w);
      for (let n = 0; n < 3; n++) sum = tf.add(sum, tf.square(tf.grad(() => lossOf(n))(w)));
      return sum.dataSync();
    });
    expect(fisher?.shape).toEqual(w.shape);
    const got = fisher?.values as ArrayLike<number>;
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
    expect(worst).toBeLessThan(1e-6 * (1 + Math.max(...expected)));
    expect(Math.max(...expected)).toBeGreaterThan(0);
  });

  it('magnitude importance is |θ|', () => {
    const key = 'vit.encoder.layer.0.layernorm_before.weight';
    const got = Array.from(magnitudeImportance(model, keys).get(key)?.values as ArrayLike<number>);
    expect(got).toEqual(Array.from((model.weights.get(key) as tf.Tensor).dataSync()).map(Math.abs));
  });
});
