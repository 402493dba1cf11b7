import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { ForwardOptions, ForwardOutput, InputKind, ModelInputs, RawConfig } from '@patchwork/models';
import type { ForwardFn } from '../lm/score';

/**
 * What the evaluator needs of a model: `Model` from @patchwork/models satisfies it, and so do
 * wrappers with the same forward (a low-rank model from @patchwork/compress, say).
 */
export interface EvaluableModel {
  readonly modelType: string;
  readonly inputKind: InputKind;
  readonly config: RawConfig;
  readonly numLayers: number;
  readonly hiddenSize: number;
  forward(inputs: ModelInputs, options?: ForwardOptions): ForwardOutput;
}

/** An adapter that runs the model with its patches applied (`PeftAdapter.forward` from @patchwork/peft). */
export interface EvaluableAdapter {
  forward(inputs: ModelInputs, options?: { outputHiddenStates?: boolean }): ForwardOutput;
}

export function forwardOf(model: EvaluableModel, adapter: EvaluableAdapter | undefined): ForwardFn {
  if (adapter !== undefined) {
    if (typeof adapter.forward !== 'function') throw invalidArgument('adapter', 'must have a forward(inputs, options) method (a loaded PEFT adapter)');
    return (inputs, outputHiddenStates) => adapter.forward(inputs, { outputHiddenStates });
  }
  return (inputs, outputHiddenStates) => model.forward(inputs, { outputHiddenStates });
}

function positiveInt(config: RawConfig, key: string): number | undefined {
  const v = config[key];
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

/**
 * Longest token sequence the model accepts: GPT-2's n_positions, max_position_embeddings
 * elsewhere, less RoBERTa's position offset (padding_idx + 1). Undefined when the config has none.
 */
export function modelMaxLength(model: EvaluableModel): number | undefined {
  const positions = positiveInt(model.config, 'n_positions') ?? positiveInt(model.config, 'max_position_embeddings');
  if (positions === undefined) return undefined;
  if (model.modelType === 'roberta') return positions - ((positiveInt(model.config, 'pad_token_id') ?? 1) + 1);
  return positions;
}

/** The token window of a task on this model: the task's max_length, capped by the model's positions. */
export function resolveMaxLength(model: EvaluableModel, taskMaxLength: number | undefined): number {
  const limit = modelMaxLength(model);
  if (taskMaxLength !== undefined) {
    if (limit !== undefined && taskMaxLength > limit) {
      throw new PatchworkError('FAILED_PRECONDITION', `max_length ${taskMaxLength} exceeds the ${limit} positions of this ${model.modelType} model`);
    }
    return taskMaxLength;
  }
  if (limit === undefined) throw new PatchworkError('FAILED_PRECONDITION', `the ${model.modelType} config gives no position limit; set max_length in the task config`);
  return limit;
}

/** Vocabulary size from the config, used to bound logits memory. */
export function vocabSize(model: EvaluableModel): number | undefined {
  return positiveInt(model.config, 'vocab_size');
}
