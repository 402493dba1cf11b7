/** A parameter a method reads, per model (`models[].parameters`) or global (`parameters`). */
export interface ParameterSpec {
  name: string;
  scope: 'model' | 'global';
  /** Absent = required. */
  default?: number;
  /** Returns a problem description, or undefined when the value is acceptable. */
  check?: (value: number) => string | undefined;
  description: string;
}

/** The per-tensor inputs of a merge, all flattened to the same length, in float32. */
export interface TensorMergeInput {
  base?: Float32Array;
  models: Float32Array[];
  /** Resolved (defaults applied) per-model parameters, aligned with `models`. */
  modelParameters: Record<string, number>[];
  parameters: Record<string, number>;
}

/**
 * One merge method. Methods here are elementwise over aligned tensors, so the executor can stream
 * a model tensor by tensor; methods defined over the whole model plug in with a two-pass plan.
 */
export interface MergeMethod {
  name: string;
  /** Task-vector methods subtract the base; linear-style methods do not need one. */
  requiresBase: boolean;
  parameters: ParameterSpec[];
  /** Checks that need all parameters together (weights summing to zero under normalize). */
  validate?: (modelParameters: Record<string, number>[], parameters: Record<string, number>) => string[];
  merge(input: TensorMergeInput): Float32Array;
}

export const finite = (value: number): string | undefined => (Number.isFinite(value) ? undefined : 'must be finite');
export const boolean01 = (value: number): string | undefined => (value === 0 || value === 1 ? undefined : 'must be true/false (1/0)');
