import { tf } from '@patchwork/tensor';
import { architectureFor } from '../architectures/registry';
import { ConfigReader, type RawConfig } from '../config/config-reader';
import { Model } from '../model';

/** Random weights of the right shapes for `config` (norm weights near 1 so activations stay sane). */
export function randomWeights(config: RawConfig, seed = 1): Map<string, tf.Tensor> {
  const layout = architectureFor(config).instantiate(new ConfigReader(config)).layout;
  const out = new Map<string, tf.Tensor>();
  let s = seed;
  for (const [key, shape] of layout.params) {
    const isNormWeight = /(norm|LayerNorm|ln_[^.]+)\.weight$/i.test(key) && shape.length === 1;
    out.set(key, tf.tidy(() => (isNormWeight ? tf.add(1, tf.randomNormal([...shape], 0, 0.1, 'float32', s++)) : tf.randomNormal([...shape], 0, 0.2, 'float32', s++))));
  }
  return out;
}

export function randomModel(config: RawConfig, seed = 1): Model {
  return Model.create(config, randomWeights(config, seed));
}

export const TINY_GPT2: RawConfig = {
  model_type: 'gpt2',
  architectures: ['GPT2LMHeadModel'],
  vocab_size: 23,
  n_embd: 16,
  n_head: 2,
  n_layer: 2,
  n_positions: 12,
  layer_norm_epsilon: 1e-5,
};

export const TINY_LLAMA: RawConfig = {
  model_type: 'llama',
  architectures: ['LlamaForCausalLM'],
  vocab_size: 19,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: true,
};

export const TINY_BERT: RawConfig = {
  model_type: 'bert',
  architectures: ['BertForSequenceClassification'],
  vocab_size: 21,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 24,
  max_position_embeddings: 16,
  type_vocab_size: 2,
  id2label: { '0': 'a', '1': 'b', '2': 'c' },
};

export const TINY_ROBERTA: RawConfig = { ...TINY_BERT, model_type: 'roberta', architectures: ['RobertaForSequenceClassification'], pad_token_id: 1, max_position_embeddings: 20 };

export const TINY_VIT: RawConfig = {
  model_type: 'vit',
  architectures: ['ViTForImageClassification'],
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 24,
  image_size: 8,
  patch_size: 4,
  num_channels: 3,
  num_labels: 4,
};
