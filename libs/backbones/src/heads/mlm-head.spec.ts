import { createModel, geluErf, layerNorm } from '@patchwork/models';
import { assertNoLeaks, tf } from '@patchwork/tensor';
import { bertShapes } from '../init/parameter-shapes';
import { seededInit } from '../init/seeded-init';
import { BertMlm, MLM_HEAD_KEYS, mlmHeadShapes } from './mlm-head';

const CONFIG = { model_type: 'bert', vocab_size: 20, max_position_embeddings: 8, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 };

function tensors(shapes: Map<string, number[]>, seed: number, std = 0.3): Map<string, tf.Tensor> {
  return new Map([...seededInit(shapes, () => ({ kind: 'normal', std }), seed)].map(([k, v]) => [k, tf.tensor(v, shapes.get(k))]));
}

describe('BertMlm', () => {
  const encoder = createModel(CONFIG, tensors(bertShapes({ vocabSize: 20, positions: 8, typeVocabSize: 2, hidden: 8, layers: 1, intermediate: 16, numLabels: 2 }), 1));
  const head = tensors(mlmHeadShapes(8, 20), 2);
  const mlm = new BertMlm(encoder, head);
  afterAll(() => {
    encoder.dispose();
    tf.dispose([...head.values()]);
  });

  it('is dense -> gelu -> LayerNorm -> tied decoder + bias, like transformers BertOnlyMLMHead', () => {
    const h = tf.randomNormal([3, 8], 0, 1, 'float32', 5);
    const got = mlm.project(h);
    const want = tf.tidy(() => {
      const p = (k: string) => head.get(k) as tf.Tensor;
      const dense = geluErf(tf.add(tf.matMul(h, tf.transpose(p(MLM_HEAD_KEYS.denseWeight))), p(MLM_HEAD_KEYS.denseBias)));
      const normed = layerNorm(dense, p(MLM_HEAD_KEYS.normWeight), p(MLM_HEAD_KEYS.normBias), 1e-12);
      return tf.add(tf.matMul(normed, tf.transpose(encoder.weights.get('bert.embeddings.word_embeddings.weight') as tf.Tensor)), p(MLM_HEAD_KEYS.bias));
    });
    expect(got.shape).toEqual([3, 20]);
    const [g, w] = [got.dataSync(), want.dataSync()];
    w.forEach((v, i) => expect(g[i]).toBeCloseTo(v, 5));
    tf.dispose([h, got, want]);
  });

  it('scores only the selected positions, without leaking', async () => {
    const ids = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]], undefined, 'int32');
    const positions = tf.tensor1d([6, 1], 'int32');
    const some = await assertNoLeaks(() => mlm.logitsAt(ids, undefined, positions));
    const all = tf.tidy(() => {
      const out = encoder.forward({ inputIds: ids }, { outputHiddenStates: true });
      return mlm.project((out.hiddenStates as tf.Tensor[])[1].reshape([8, 8]));
    });
    const rows = all.arraySync() as number[][];
    const picked = some.arraySync() as number[][];
    picked[0].forEach((v, j) => expect(v).toBeCloseTo(rows[6][j], 5));
    picked[1].forEach((v, j) => expect(v).toBeCloseTo(rows[1][j], 5));
    tf.dispose([ids, positions, some, all]);
  });

  it('rejects a head of the wrong shape', () => {
    const bad = new Map(head);
    const wrong = tf.zeros([19]);
    bad.set(MLM_HEAD_KEYS.bias, wrong);
    expect(() => new BertMlm(encoder, bad)).toThrow(/cls.predictions.bias/);
    wrong.dispose();
  });
});
