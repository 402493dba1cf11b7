import { type Model, createModel } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { type Prng, causalLmLoss, crossEntropy } from '@patchwork/training';
import { type MlmMasking, maskBatch } from '../data/mlm-batch';
import { BertMlm, mlmHeadShapes } from '../heads/mlm-head';
import { type ShapeTable, bertShapes, gpt2Shapes } from '../init/parameter-shapes';
import type { TextRecipe } from '../recipes/recipes';

/** GPT2LMHeadModel config.json. Dropout is 0: the forward passes here have none, so transformers matches them in train mode too. */
export function gpt2Config(r: TextRecipe, vocabSize: number, eosId: number): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: vocabSize,
    n_positions: r.sequenceLength,
    n_embd: r.hidden,
    n_layer: r.layers,
    n_head: r.heads,
    n_inner: r.intermediate,
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    initializer_range: r.initializerRange,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    scale_attn_weights: true,
    tie_word_embeddings: true,
    bos_token_id: eosId,
    eos_token_id: eosId,
  };
}

/**
 * BERT config.json. `architectures` names BertForMaskedLM first (the head that was trained, what
 * transformers' pipelines pick) and BertForSequenceClassification, which libs/models loads: the
 * checkpoint carries both heads' tensors (the classifier and pooler keep their seeded
 * initialisation, since MLM pre-training without next-sentence prediction does not train them).
 */
export function bertConfig(r: TextRecipe, vocabSize: number, padId: number): Record<string, unknown> {
  return {
    architectures: ['BertForMaskedLM', 'BertForSequenceClassification'],
    model_type: 'bert',
    vocab_size: vocabSize,
    hidden_size: r.hidden,
    num_hidden_layers: r.layers,
    num_attention_heads: r.heads,
    intermediate_size: r.intermediate,
    hidden_act: 'gelu',
    max_position_embeddings: r.sequenceLength,
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
    initializer_range: r.initializerRange,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    position_embedding_type: 'absolute',
    pad_token_id: padId,
    tie_word_embeddings: true,
  };
}

/** Every tensor of the checkpoint, in file order: the model's keys, then (BERT) the MLM head. */
export function textShapes(r: TextRecipe, vocabSize: number): { model: ShapeTable; head: ShapeTable } {
  if (r.family === 'gpt2') {
    return { model: gpt2Shapes({ vocabSize, positions: r.sequenceLength, hidden: r.hidden, layers: r.layers, inner: r.intermediate }), head: new Map() };
  }
  return {
    model: bertShapes({ vocabSize, positions: r.sequenceLength, typeVocabSize: 2, hidden: r.hidden, layers: r.layers, intermediate: r.intermediate, numLabels: 2 }),
    head: mlmHeadShapes(r.hidden, vocabSize),
  };
}

/** A text backbone being trained: variables for every saved tensor and the training loss. */
export class TextModel {
  readonly model: Model;
  readonly mlm?: BertMlm;

  /** `params` are the model's keys then the head's; the TextModel owns them from here on. */
  constructor(
    readonly family: 'gpt2' | 'bert',
    readonly config: Record<string, unknown>,
    readonly params: ReadonlyMap<string, tf.Variable>,
    modelKeys: Iterable<string>,
    private readonly masking?: MlmMasking,
  ) {
    const modelParams = new Map<string, tf.Tensor>();
    for (const key of modelKeys) modelParams.set(key, params.get(key) as tf.Variable);
    this.model = createModel(config, modelParams);
    if (family === 'bert') {
      const head = new Map([...params].filter(([k]) => !modelParams.has(k)));
      this.mlm = new BertMlm(this.model, head);
    }
  }

  /** Training loss of a batch of full blocks `[rows, length]`: next-token (GPT-2) or masked-token (BERT). */
  loss(ids: Int32Array, rows: number, length: number, rng: Prng): tf.Scalar {
    if (this.mlm === undefined || this.masking === undefined) {
      const input = tf.tensor2d(ids, [rows, length], 'int32');
      return causalLmLoss(this.model.forward({ inputIds: input }).logits, input);
    }
    const batch = maskBatch(ids, this.masking, rng);
    const logits = this.mlm.logitsAt(tf.tensor2d(batch.inputIds, [rows, length], 'int32'), undefined, tf.tensor1d(batch.positions, 'int32'));
    return crossEntropy(logits, tf.tensor1d(batch.targets, 'int32'));
  }

  dispose(): void {
    // The model's dispose frees the encoder's variables; the head's are freed here.
    this.model.dispose();
    for (const v of this.params.values()) if (!v.isDisposed) v.dispose();
  }
}
