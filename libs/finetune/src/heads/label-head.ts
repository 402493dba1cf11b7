import type { BertMlm } from '@patchwork/backbones';
import { PatchworkError } from '@patchwork/errors';
import { type ForwardOutput, type Model, layerNorm } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import type { Batch } from '../data/encoded-inputs';
import type { PromptTemplate } from '../data/prompt-template';
import { type WeightLookup, classifierModules, firstToken, linearOf, rowsAt } from './weights';

/**
 * Turns a model's outputs into label logits `[B, C]`. A classifier head is the model's own
 * sequence/image classification head; a prompt head reads the label words' logits at the
 * prediction position through the masked-LM head (BERT) or the LM head (GPT-2), LM-BFF style.
 */
export interface LabelHead {
  readonly kind: 'classifier' | 'prompt';
  readonly numLabels: number;
  /** Whether `logits` needs the forward pass's hidden states. */
  readonly needsHiddenStates: boolean;
  /** Label logits from a forward pass of the model (with whatever patches were active). */
  logits(output: ForwardOutput, batch: Batch): tf.Tensor;
  /**
   * Label logits from final hidden states `[B, L, H]` in the space of the backbone's last layer
   * (what `hiddenStates[numLayers]` holds), with head parameters from `weights`: how a side
   * network reuses the backbone's head.
   */
  logitsFromHidden(hidden: tf.Tensor, batch: Batch, weights: WeightLookup): tf.Tensor;
}

function numClassifierLabels(model: Model): number {
  const modules = classifierModules(model);
  if (modules.length === 0) return 0;
  return model.linears.get(modules[modules.length - 1])?.outFeatures ?? 0;
}

/** The model's classification head; INVALID_ARGUMENT when it has none or its size differs from the task's. */
export function classifierHead(model: Model, numLabels: number): LabelHead {
  const have = numClassifierLabels(model);
  if (have === 0) {
    throw new PatchworkError('INVALID_ARGUMENT', `head: a ${model.modelType} model has no classification head; use a prompt (template and label words) instead`);
  }
  if (have !== numLabels) {
    throw new PatchworkError('INVALID_ARGUMENT', `task: it has ${numLabels} labels but the base model's classifier has ${have} outputs; choose a base model whose num_labels is ${numLabels}`);
  }
  const eps = Number(model.config['layer_norm_eps'] ?? 1e-12);
  return {
    kind: 'classifier',
    numLabels,
    needsHiddenStates: false,
    logits: (output) => output.logits,
    logitsFromHidden(hidden, _batch, w) {
      return tf.tidy(() => {
        switch (model.modelType) {
          case 'bert':
            return linearOf(model, 'classifier', tf.tanh(linearOf(model, 'bert.pooler.dense', firstToken(hidden), w)), w);
          case 'roberta':
            return linearOf(model, 'classifier.out_proj', tf.tanh(linearOf(model, 'classifier.dense', firstToken(hidden), w)), w);
          case 'vit':
            return linearOf(model, 'classifier', firstToken(layerNorm(hidden, w('vit.layernorm.weight'), w('vit.layernorm.bias'), eps)), w);
          default:
            throw new PatchworkError('INTERNAL', `no classifier head for ${model.modelType}`);
        }
      });
    },
  };
}

/** Label-word logits through the masked-LM head (`mlm`) or, for GPT-2, the tied LM head. */
export function promptHead(model: Model, template: PromptTemplate, mlm?: BertMlm): LabelHead {
  const labelIds = template.labelTokenIds;
  if (template.style === 'masked' && mlm === undefined) throw new PatchworkError('INTERNAL', 'a masked prompt head needs the MLM head');
  if (template.style === 'causal' && model.modelType !== 'gpt2') {
    throw new PatchworkError('INVALID_ARGUMENT', `prompt: next-token prompts need a causal LM (gpt2), the base model is ${model.modelType}`);
  }
  const fromHidden = (hidden: tf.Tensor, batch: Batch, w: WeightLookup): tf.Tensor =>
    tf.tidy(() => {
      if (batch.predictAt === undefined) throw new PatchworkError('INTERNAL', 'prompt batch lacks prediction positions');
      const rows = rowsAt(hidden, batch.predictAt);
      const ids = tf.tensor1d(Int32Array.from(labelIds), 'int32');
      if (template.style === 'masked') return tf.gather((mlm as BertMlm).project(rows), ids, 1);
      // GPT-2's last hidden state is already after ln_f; the LM head is a bias-free projection.
      const spec = model.linears.get('lm_head');
      if (spec === undefined) throw new PatchworkError('INTERNAL', 'gpt2 model without lm_head');
      const words = tf.gather(w(spec.weightKey), ids, spec.layout === 'out_in' ? 0 : 1);
      return tf.matMul(rows, words, false, spec.layout === 'out_in');
    });
  return {
    kind: 'prompt',
    numLabels: labelIds.length,
    needsHiddenStates: true,
    logits(output, batch) {
      const hidden = output.hiddenStates?.[model.numLayers];
      if (hidden === undefined) throw new PatchworkError('INTERNAL', 'prompt head needs hidden states');
      return fromHidden(hidden, batch, (k) => model.weights.get(k) as tf.Tensor);
    },
    logitsFromHidden: fromHidden,
  };
}
