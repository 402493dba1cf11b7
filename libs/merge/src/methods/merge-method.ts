interface ParameterSpecBase {
  name: string;
  scope: 'model' | 'global';
  description: string;
}

/** A numeric parameter; it may vary by tensor (layer gradients, filter lists). */
export interface NumberParameterSpec extends ParameterSpecBase {
  type?: 'number';
  /** Absent = required. */
  default?: number;
  /** Returns a problem description, or undefined when the value is acceptable. */
  check?: (value: number) => string | undefined;
}

/** A word out of a closed set (`semantics: peft`); always global and the same for every tensor. */
export interface ChoiceParameterSpec extends ParameterSpecBase {
  type: 'choice';
  scope: 'global';
  choices: readonly string[];
  default?: string;
}

/** A parameter a method reads, per model (`models[].parameters`) or global (`parameters`). */
export type ParameterSpec = NumberParameterSpec | ChoiceParameterSpec;

/** The per-tensor inputs of a merge, all flattened to the same length, in float32. */
export interface TensorMergeInput {
  base?: Float32Array;
  models: Float32Array[];
  /** Resolved (defaults applied, gradients evaluated for this tensor) per-model numbers, aligned with `models`. */
  modelParameters: Record<string, number>[];
  parameters: Record<string, number>;
  /** Resolved choice parameters (absent: every choice takes its default). */
  choices?: Record<string, string>;
  /** The tensor's name; seeds the random methods, so equal names give equal masks. */
  name?: string;
  /** The tensor's shape (absent: one flat row). Row-wise methods (della, model_stock filter_wise) read it. */
  shape?: readonly number[];
}

/** Per-tensor merge function. */
export type TensorMerger = (input: TensorMergeInput) => Float32Array;

/**
 * What a whole-model method sees before the merge pass: it may walk every merged tensor as many
 * times as its statistics need (each walk reads one tensor of each input at a time, so memory
 * stays bounded by the largest tensor).
 */
export interface WholeModelContext {
  forEachTensor(visit: (input: TensorMergeInput) => void | Promise<void>): Promise<void>;
  /** Number of merged tensors one walk visits. */
  tensorCount: number;
  signal?: AbortSignal;
}

/** Extra facts for validation beyond the numbers. */
export interface ValidationContext {
  choices: Record<string, string>;
  /** Names the recipe set explicitly, at any level (so a method can refuse ones that mean nothing in a mode). */
  given: ReadonlySet<string>;
  hasBase: boolean;
}

/**
 * One merge method. Most methods are elementwise over aligned tensors, so the executor can stream
 * a model tensor by tensor; methods defined over the whole flattened model (PCB, paper TIES)
 * implement `prepare`, which runs statistics walks over all tensors and returns the merge to use.
 */
export interface MergeMethod {
  name: string;
  /** Task-vector methods subtract the base; linear-style methods do not need one. */
  requiresBase: boolean;
  /** A base is used when given (slerp interpolates from it) but not required. */
  acceptsBase?: boolean;
  parameters: ParameterSpec[];
  /**
   * Checks that need all parameters together (weights summing to zero under normalize). Called once
   * per distinct per-tensor resolution; returns problem descriptions.
   */
  validate?: (modelParameters: Record<string, number>[], parameters: Record<string, number>, context?: ValidationContext) => string[];
  merge: TensorMerger;
  /** Whole-model statistics; returns the merge to use instead of `merge`, or undefined for plain per-tensor merging. */
  prepare?: (context: WholeModelContext, choices: Record<string, string>) => Promise<TensorMerger | undefined>;
}

export const finite = (value: number): string | undefined => (Number.isFinite(value) ? undefined : 'must be finite');
export const boolean01 = (value: number): string | undefined => (value === 0 || value === 1 ? undefined : 'must be true/false (1/0)');
export const nonNegative = (value: number): string | undefined => (Number.isFinite(value) && value >= 0 ? undefined : 'must be a finite number >= 0');
export const fraction = (value: number): string | undefined => (Number.isFinite(value) && value >= 0 && value <= 1 ? undefined : 'must be within [0, 1]');
export const integer = (value: number): string | undefined => (Number.isSafeInteger(value) ? undefined : 'must be an integer');

/** The value of a choice parameter for this tensor (its default when the caller passed none). */
export function choiceOf(input: Pick<TensorMergeInput, 'choices'>, spec: ChoiceParameterSpec): string {
  return input.choices?.[spec.name] ?? (spec.default as string);
}
