/**
 * A merge recipe in mergekit's vocabulary. Model references are opaque strings here (a path for
 * the CLI, an artifact digest for the service); whoever runs the merge resolves them to
 * directories.
 *
 * Parameters come in two bags so that the plain numeric ones stay wire-compatible
 * (`Record<string, number>` is what the SubmitMerge contract carries): `parameters` holds scalar
 * numbers (YAML booleans as 1/0), `settings` everything else mergekit allows — words
 * (`semantics: peft`), layer gradients (`density: [1.0, 0.7, 0.1]`) and filter lists
 * (`t: [{filter: self_attn, value: [0, 1]}, {value: 0.5}]`). A name appears in at most one bag.
 */
export interface MergeModelEntry {
  model: string;
  parameters: Record<string, number>;
  settings?: Record<string, ParameterSetting>;
}

export type OutputDType = 'float32' | 'float16' | 'bfloat16';

export interface MergeConfig {
  mergeMethod: string;
  baseModel?: string;
  models: MergeModelEntry[];
  parameters: Record<string, number>;
  settings?: Record<string, ParameterSetting>;
  /** Compute dtype. Patchwork computes in float32; other values are refused rather than ignored. */
  dtype?: OutputDType;
  /** Output dtype of floating tensors; defaults to each tensor's dtype in the base (or first) model. */
  outDtype?: OutputDType;
}

export const OUTPUT_DTYPES: readonly OutputDType[] = ['float32', 'float16', 'bfloat16'];

/** A list of numbers interpolated linearly across the layers (mergekit's "gradient"). */
export type Gradient = number[];

/** One entry of a filter list: applies to tensors whose name contains `filter` (every tensor when absent). */
export interface ConditionalValue {
  filter?: string;
  value: number | string | Gradient;
}

/** A parameter value beyond a plain number. */
export type ParameterSetting = number | string | Gradient | ConditionalValue[];
