/**
 * A merge recipe in mergekit's vocabulary. Model references are opaque strings here (a path for
 * the CLI, an artifact digest for the service); whoever runs the merge resolves them to
 * directories.
 */
export interface MergeModelEntry {
  model: string;
  parameters: Record<string, number>;
}

export type OutputDType = 'float32' | 'float16' | 'bfloat16';

export interface MergeConfig {
  mergeMethod: string;
  baseModel?: string;
  models: MergeModelEntry[];
  parameters: Record<string, number>;
  /** Compute dtype. Patchwork computes in float32; other values are refused rather than ignored. */
  dtype?: OutputDType;
  /** Output dtype of floating tensors; defaults to each tensor's dtype in the base (or first) model. */
  outDtype?: OutputDType;
}

export const OUTPUT_DTYPES: readonly OutputDType[] = ['float32', 'float16', 'bfloat16'];
