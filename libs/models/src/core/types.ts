import type { tf } from '@patchwork/tensor';
import type { ConfigReader } from '../config/config-reader';
import type { ForwardContext, LinearPatchSet } from './forward-context';
import type { ModelLayout } from './layout';

/** Inputs of a forward pass. Text models take token ids; ViT takes pixels. The caller owns them. */
export interface ModelInputs {
  /** `[batch, length]` int32 token ids. */
  readonly inputIds?: tf.Tensor;
  /** `[batch, length]`, 1 for real tokens, 0 for padding (any numeric dtype). */
  readonly attentionMask?: tf.Tensor;
  /** `[batch, length]` int32 segment ids (BERT, RoBERTa); zeros when absent. */
  readonly tokenTypeIds?: tf.Tensor;
  /** `[batch, channels, height, width]` float32, already normalised (ViT). */
  readonly pixelValues?: tf.Tensor;
}

export interface ForwardOptions {
  /** Also return the hidden states at every layer boundary (transformers' `output_hidden_states`). */
  readonly outputHiddenStates?: boolean;
  /** Patches applied at each linear projection, keyed by canonical module name. */
  readonly patches?: LinearPatchSet;
}

export interface ForwardOutput {
  /** `[batch, length, vocab]` for language models, `[batch, numLabels]` for classifiers. */
  readonly logits: tf.Tensor;
  /**
   * numLayers + 1 tensors `[batch, tokens, hidden]`, exactly transformers' `hidden_states`:
   * index 0 is the embedding output, index K the output of layer K; for GPT-2 and Llama the last
   * one is taken after the final norm, for BERT, RoBERTa and ViT it is the last layer's raw output.
   */
  readonly hiddenStates?: tf.Tensor[];
}

export type InputKind = 'tokens' | 'pixels';

/** A module renamed between transformers versions; `{n}` stands for a layer index. */
export interface ModuleAlias {
  /** The spelling this library uses (the checkpoint spelling of the weights). */
  readonly canonical: string;
  readonly alias: string;
}

/** One architecture bound to one config: its parameter layout and its forward pass. */
export interface ArchitectureInstance {
  readonly layout: ModelLayout;
  readonly numLayers: number;
  readonly hiddenSize: number;
  forward(ctx: ForwardContext, inputs: ModelInputs, outputHiddenStates: boolean): ForwardOutput;
}

/** A transformers model class this library implements, chosen by `config.model_type`. */
export interface Architecture {
  readonly modelType: string;
  /** transformers class names (`config.architectures[0]`) that share this implementation. */
  readonly classNames: readonly string[];
  readonly inputKind: InputKind;
  /** transformers' `base_model_prefix` + '.', which very old checkpoints leave off their keys. */
  readonly basePrefix: string;
  readonly moduleAliases: readonly ModuleAlias[];
  /** Validates the config (INVALID_ARGUMENT listing every bad field) and builds the layout. */
  instantiate(config: ConfigReader): ArchitectureInstance;
}
