import { PatchworkError } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import { robertaPositionIds } from './architectures/roberta';
import { Model } from './model';
import { disposeAll, maxAbsDiff } from './testing/fixtures';
import { TINY_BERT, TINY_GPT2, TINY_LLAMA, TINY_ROBERTA, TINY_VIT, randomModel, randomWeights } from './testing/random-model';

function ids(rows: number[][]): tf.Tensor {
  return tf.tensor2d(rows, undefined, 'int32');
}

function caught(fn: () => unknown): PatchworkError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PatchworkError);
    return e as PatchworkError;
  }
  throw new Error('expected a PatchworkError');
}

describe('Model.create', () => {
  it('reports every missing, unexpected and mis-shaped parameter at once and leaves the tensors to the caller', () => {
    const weights = randomWeights(TINY_GPT2);
    weights.get('transformer.ln_f.weight')?.dispose();
    weights.delete('transformer.ln_f.weight');
    const wte = weights.get('transformer.wte.weight') as tf.Tensor;
    weights.set('transformer.wte.weight', tf.zeros([5, 16]));
    weights.set('lm_head.weight', tf.zeros([23, 16]));
    const err = caught(() => Model.create(TINY_GPT2, weights));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.violations.map((v) => v.field).sort()).toEqual(['weights.lm_head.weight', 'weights.transformer.ln_f.weight', 'weights.transformer.wte.weight']);
    expect(err.message).toContain('expected [23, 16]');
    expect(weights.get('transformer.h.0.ln_1.weight')?.isDisposed).toBe(false);
    disposeAll([wte, ...weights.values()]);
  });

  it('rejects an unknown model_type and an unsupported model class', () => {
    expect(caught(() => Model.create({ model_type: 't5' }, new Map())).code).toBe('INVALID_ARGUMENT');
    const err = caught(() => Model.create({ ...TINY_BERT, architectures: ['BertForMaskedLM'] }, new Map()));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('BertForSequenceClassification');
  });

  it('rejects bad config fields, naming each', () => {
    const err = caught(() => Model.create({ ...TINY_GPT2, n_embd: 15, n_layer: 0 }, new Map()));
    expect(err.violations.map((v) => v.field).sort()).toEqual(['config.n_embd', 'config.n_layer']);
    expect(caught(() => Model.create({ ...TINY_GPT2, activation_function: 'mish' }, new Map())).code).toBe('UNIMPLEMENTED');
  });

  it('frees its weights on dispose and refuses to run afterwards', () => {
    const before = tf.memory().numTensors;
    const model = randomModel(TINY_LLAMA);
    expect(tf.memory().numTensors - before).toBe(model.parameterShapes.size);
    model.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(caught(() => model.forward({ inputIds: undefined })).code).toBe('FAILED_PRECONDITION');
  });

  it('ties the head to the embedding when the config says so', () => {
    const tied = randomModel(TINY_LLAMA);
    expect(tied.linears.get('lm_head')).toMatchObject({ weightKey: 'model.embed_tokens.weight', tied: true });
    expect(tied.parameterShapes.has('lm_head.weight')).toBe(false);
    tied.dispose();
    const untied = randomModel({ ...TINY_LLAMA, tie_word_embeddings: false });
    expect(untied.linears.get('lm_head')).toMatchObject({ weightKey: 'lm_head.weight', tied: false });
    untied.dispose();
  });
});

describe('module names', () => {
  it('resolves aliases and a missing base-model prefix to the canonical module', () => {
    const vit = randomModel(TINY_VIT);
    expect(vit.resolveModule('vit.layers.0.attention.q_proj')).toBe('vit.encoder.layer.0.attention.attention.query');
    expect(vit.resolveModule('vit.encoder.layer.0.attention.attention.query')).toBe('vit.encoder.layer.0.attention.attention.query');
    expect(vit.resolveModule('layers.0.mlp.fc2')).toBe('vit.encoder.layer.0.output.dense');
    expect(vit.resolveModule('vit.layers.7.attention.q_proj')).toBeUndefined();
    expect(vit.spellingsOf('vit.encoder.layer.0.layernorm_before.weight')).toEqual(['vit.encoder.layer.0.layernorm_before.weight', 'vit.layers.0.layernorm_before.weight']);
    vit.dispose();
    const gpt2 = randomModel(TINY_GPT2);
    expect(gpt2.resolveModule('h.1.attn.c_attn')).toBe('transformer.h.1.attn.c_attn');
    expect(gpt2.linears.get('transformer.h.1.attn.c_attn')).toMatchObject({ layout: 'in_out', kind: 'conv1d', inFeatures: 16, outFeatures: 48 });
    gpt2.dispose();
  });

  it('accepts weights in the transformers-5 ViT spelling', () => {
    const classic = randomWeights(TINY_VIT, 3);
    const renamed = new Map([...classic].map(([k, t]) => [k.replace('vit.encoder.layer.0.attention.attention.query', 'vit.layers.0.attention.q_proj').replace('vit.encoder.layer.0.output.dense', 'vit.layers.0.mlp.fc2'), t]));
    expect(renamed.has('vit.layers.0.attention.q_proj.weight')).toBe(true);
    const model = Model.create(TINY_VIT, renamed);
    expect(model.weights.has('vit.encoder.layer.0.attention.attention.query.weight')).toBe(true);
    model.dispose();
  });
});

describe('decoder masking', () => {
  it.each([
    ['gpt2', TINY_GPT2],
    ['llama', TINY_LLAMA],
  ])('%s: future tokens and right padding do not change earlier positions', (_name, config) => {
    const model = randomModel(config, 7);
    const full = model.forward({ inputIds: ids([[3, 1, 4, 1, 5, 9]]) });
    const prefix = model.forward({ inputIds: ids([[3, 1, 4]]) });
    const padded = model.forward({ inputIds: ids([[3, 1, 4, 0, 0, 0]]), attentionMask: ids([[1, 1, 1, 0, 0, 0]]) });
    const head = (t: tf.Tensor): tf.Tensor => tf.slice(t, [0, 0, 0], [1, 3, -1]);
    const [a, b, c] = [head(full.logits), prefix.logits, head(padded.logits)];
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    expect(maxAbsDiff(c, b)).toBeLessThan(1e-5);
    disposeAll([a, c, full.logits, prefix.logits, padded.logits]);
    model.dispose();
  });
});

describe('encoder masking', () => {
  it.each([
    ['bert', TINY_BERT],
    ['roberta', TINY_ROBERTA],
  ])('%s: a padded row classifies like the unpadded sequence', (_name, config) => {
    const model = randomModel(config, 11);
    const short = model.forward({ inputIds: ids([[0, 5, 6, 2]]) });
    const padded = model.forward({ inputIds: ids([[0, 5, 6, 2, 1, 1], [0, 7, 8, 9, 10, 2]]), attentionMask: ids([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]]) });
    const first = tf.slice(padded.logits, [0, 0], [1, -1]);
    expect(padded.logits.shape).toEqual([2, 3]);
    expect(maxAbsDiff(first, short.logits)).toBeLessThan(1e-5);
    disposeAll([first, short.logits, padded.logits]);
    model.dispose();
  });

  it('roberta numbers positions from pad_token_id + 1 and parks padding on pad_token_id', () => {
    const pos = robertaPositionIds(ids([[0, 5, 1, 6, 1]]), 1);
    expect(Array.from(pos.dataSync())).toEqual([2, 3, 1, 4, 1]);
    expect(pos.dtype).toBe('int32');
    pos.dispose();
  });

  it('token type ids change the output and are validated', () => {
    const model = randomModel(TINY_BERT, 5);
    const a = model.forward({ inputIds: ids([[1, 2, 3]]) });
    const b = model.forward({ inputIds: ids([[1, 2, 3]]), tokenTypeIds: ids([[0, 1, 1]]) });
    expect(maxAbsDiff(a.logits, b.logits)).toBeGreaterThan(1e-4);
    expect(caught(() => model.forward({ inputIds: ids([[1, 2, 3]]), tokenTypeIds: ids([[0, 2, 1]]) })).message).toContain('token_type_ids');
    disposeAll([a.logits, b.logits]);
    model.dispose();
  });
});

describe('input validation', () => {
  const gpt2 = randomModel(TINY_GPT2);
  const vit = randomModel(TINY_VIT);
  afterAll(() => {
    gpt2.dispose();
    vit.dispose();
  });

  it('rejects bad token inputs with a clear INVALID_ARGUMENT and leaks nothing', () => {
    const before = tf.memory().numTensors;
    const cases: Array<[tf.Tensor, string]> = [
      [ids([[1, 23]]), 'token ids must lie in [0, 23)'],
      [ids([[-1, 2]]), 'token ids must lie in [0, 23)'],
      [tf.tensor2d([[1, 2]], undefined, 'float32'), 'must be int32'],
      [tf.tensor1d([1, 2], 'int32'), '[batch, length]'],
      [ids([Array.from({ length: 13 }, () => 1)]), 'exceeds the model\'s 12 positions'],
    ];
    for (const [input, message] of cases) {
      const err = caught(() => gpt2.forward({ inputIds: input }));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toContain(message);
      input.dispose();
    }
    const input = ids([[1, 2, 3]]);
    const mask = ids([[1, 1]]);
    expect(caught(() => gpt2.forward({ inputIds: input, attentionMask: mask })).message).toContain('attention_mask');
    expect(caught(() => gpt2.forward({ pixelValues: input })).message).toContain('input_ids');
    disposeAll([input, mask]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects pixels of the wrong shape', () => {
    const pixels = tf.zeros([1, 3, 8, 12]);
    expect(caught(() => vit.forward({ pixelValues: pixels })).message).toContain('must be [batch, 3, 8, 8]');
    expect(caught(() => vit.forward({})).message).toContain('pixel_values');
    pixels.dispose();
  });
});
