import { tf } from '@patchwork/tensor';
import type { ForwardContext } from '../core/forward-context';
import { assertMaxLength, tokenBatch } from '../core/inputs';
import { ModelLayout } from '../core/layout';
import type { Architecture, ArchitectureInstance, ForwardOutput, ModelInputs } from '../core/types';
import { type BertEncoderConfig, addBertEncoder, firstToken, readBertEncoderConfig, runBertEncoder } from './bert-encoder';

/** BertForSequenceClassification: encoder, tanh pooler on [CLS], linear classifier. */
class BertForSequenceClassification implements ArchitectureInstance {
  readonly layout = new ModelLayout();

  constructor(private readonly cfg: BertEncoderConfig) {
    addBertEncoder(this.layout, 'bert', cfg);
    this.layout.linear('bert.pooler.dense', cfg.hidden, cfg.hidden).linear('classifier', cfg.hidden, cfg.numLabels);
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
    assertMaxLength(batch.length, cfg.positions);
    return tf.tidy(() => {
      const positionIds = tf.range(0, batch.length, 1, 'int32').reshape([1, batch.length]).tile([batch.batch, 1]);
      const { last, hiddenStates } = runBertEncoder(ctx, 'bert', cfg, { ...batch, positionIds }, outputHiddenStates);
      const pooled = tf.tanh(ctx.linear('bert.pooler.dense', firstToken(last)));
      const logits = ctx.linear('classifier', pooled);
      return outputHiddenStates ? { logits, hiddenStates } : { logits };
    });
  }
}

export const bert: Architecture = {
  modelType: 'bert',
  classNames: ['BertForSequenceClassification'],
  inputKind: 'tokens',
  basePrefix: 'bert.',
  moduleAliases: [],
  instantiate: (config) => new BertForSequenceClassification(readBertEncoderConfig(config)),
};
