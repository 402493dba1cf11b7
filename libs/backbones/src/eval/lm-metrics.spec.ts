import { createModel } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { packBlocks } from '../data/blocks';
import { BertMlm, mlmHeadShapes } from '../heads/mlm-head';
import { bertShapes, gpt2Shapes } from '../init/parameter-shapes';
import { causalLmPerplexity, maskedLmPerplexity } from './lm-metrics';

const zeros = (shapes: Map<string, number[]>) => new Map([...shapes].map(([k, s]) => [k, tf.zeros(s)]));

describe('LM perplexities', () => {
  const V = 13;
  const blocks = packBlocks([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]], { length: 4, separator: 0 });

  it('causal: a model with all-zero weights predicts uniformly, so its perplexity is the vocabulary size', () => {
    const model = createModel({ model_type: 'gpt2', vocab_size: V, n_positions: 4, n_embd: 8, n_layer: 1, n_head: 2 }, zeros(gpt2Shapes({ vocabSize: V, positions: 4, hidden: 8, layers: 1, inner: 32 })));
    const score = causalLmPerplexity(model, blocks, 2);
    expect(score.perplexity).toBeCloseTo(V, 4);
    // 3 blocks of 4 tokens, each predicting its last 3.
    expect([...score.targets]).toEqual([2, 3, 4, 6, 7, 8, 10, 11, 12]);
    model.dispose();
  });

  it('masked: uniform logits give the vocabulary size, on masks fixed by the seed', () => {
    const encoder = createModel(
      { model_type: 'bert', vocab_size: V, max_position_embeddings: 4, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 },
      zeros(bertShapes({ vocabSize: V, positions: 4, typeVocabSize: 2, hidden: 8, layers: 1, intermediate: 16, numLabels: 2 })),
    );
    const head = zeros(mlmHeadShapes(8, V));
    const mlm = new BertMlm(encoder, head);
    const masking = { maskTokenId: 0, vocabSize: V, specialTokenIds: new Set([0]), mlmProbability: 0.5 };
    const a = maskedLmPerplexity(mlm, blocks, masking, 1, 2);
    const b = maskedLmPerplexity(mlm, blocks, masking, 1, 2);
    expect(a.perplexity).toBeCloseTo(V, 4);
    expect([...a.targets]).toEqual([...b.targets]);
    expect(a.targets.length).toBeGreaterThan(0);
    encoder.dispose();
    tf.dispose([...head.values()]);
  });
});
