import { invalidArgument } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import type { ConfigReader } from '../config/config-reader';
import type { ForwardContext } from '../core/forward-context';
import { tokenBatch } from '../core/inputs';
import { ModelLayout } from '../core/layout';
import type { Architecture, ArchitectureInstance, ForwardOutput, ModelInputs } from '../core/types';
import { type BertEncoderConfig, addBertEncoder, firstToken, readBertEncoderConfig, runBertEncoder } from './bert-encoder';

interface RobertaConfig extends BertEncoderConfig {
  paddingIdx: number;
}

function readConfig(c: ConfigReader): RobertaConfig {
  const paddingIdx = c.nonNegativeInt('pad_token_id', 1);
  return { ...readBertEncoderConfig(c), paddingIdx };
}

/**
 * RoBERTa position ids: real tokens count up from padding_idx + 1, padding tokens sit at
 * padding_idx. "Padding" means `input_ids == pad_token_id`, not the attention mask, exactly as
 * transformers' `create_position_ids_from_input_ids`.
 */
export function robertaPositionIds(ids: tf.Tensor, paddingIdx: number): tf.Tensor {
  return tf.tidy(() => {
    const real = tf.notEqual(ids, paddingIdx).toInt();
    return tf.add(tf.mul(tf.cumsum(real, 1), real), tf.scalar(paddingIdx, 'int32'));
  });
}

/** RobertaForSequenceClassification: encoder (no pooler), dense -> tanh -> out_proj on <s>. */
class RobertaForSequenceClassification implements ArchitectureInstance {
  readonly layout = new ModelLayout();

  constructor(private readonly cfg: RobertaConfig) {
    addBertEncoder(this.layout, 'roberta', cfg);
    this.layout.linear('classifier.dense', cfg.hidden, cfg.hidden).linear('classifier.out_proj', cfg.hidden, cfg.numLabels);
  }

  get numLayers(): number {
    return this.cfg.layers;
  }

  get hiddenSize(): number {
    return this.cfg.hidden;
  }

  forward(ctx: ForwardContext, inputs: ModelInputs, outputHiddenStates: boolean): ForwardOutput {
    const cfg = this.cfg;
    const batch = tokenBatch(inputs, cfg.vocabSize, cfg.typeVocabSize);
    const maxLength = cfg.positions - cfg.paddingIdx - 1;
    if (batch.length > maxLength) {
      throw invalidArgument('input_ids', `sequence length ${batch.length} exceeds the model's ${maxLength} positions (max_position_embeddings - pad_token_id - 1)`);
    }
    return tf.tidy(() => {
      const positionIds = robertaPositionIds(batch.ids, cfg.paddingIdx);
      const { last, hiddenStates } = runBertEncoder(ctx, 'roberta', cfg, { ...batch, positionIds }, outputHiddenStates);
      const features = tf.tanh(ctx.linear('classifier.dense', firstToken(last)));
      const logits = ctx.linear('classifier.out_proj', features);
      return outputHiddenStates ? { logits, hiddenStates } : { logits };
    });
  }
}

export const roberta: Architecture = {
  modelType: 'roberta',
  classNames: ['RobertaForSequenceClassification'],
  inputKind: 'tokens',
  basePrefix: 'roberta.',
  moduleAliases: [],
  instantiate: (config) => new RobertaForSequenceClassification(readConfig(config)),
};
