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
 * A stretch of one tensor: elements [offset, offset + length) of the flattened tensor, always
 * whole rows (dim 0), so `shape` is the chunk's own `[rows, ...rest]`. A tensor that fits the
 * memory budget is one chunk with offset 0.
 */
export interface ChunkInput extends TensorMergeInput {
  /** Index of the chunk's first element in the flattened tensor (random draws are keyed by it). */
  offset: number;
  /** Elements of the whole tensor. */
  tensorLength: number;
}

/** One tensor as a sequence of chunks, for statistics a method needs before merging it. */
export interface TensorChunks {
  name: string;
  shape: readonly number[];
  length: number;
  modelParameters: Record<string, number>[];
  parameters: Record<string, number>;
  choices: Record<string, string>;
  /** Visits every chunk in order; the inputs are read again unless the tensor is held whole. */
  forEachChunk(visit: (chunk: ChunkInput) => void | Promise<void>): Promise<void>;
}

/** Merges one chunk; called once per chunk of the tensor, in order (it may carry state between chunks). */
export type ChunkMerger = (chunk: ChunkInput) => Float32Array;

/**
 * How a method merges a tensor larger than the memory budget: statistics walks over the tensor's
 * chunks, then a chunk merger whose concatenated outputs are bit-identical to `merge` on the whole
 * tensor. The executor uses it for every tensor (a tensor that fits is one chunk held in memory,
 * so its walks cost no reads).
 */
export interface StreamingMerge {
  prepare(tensor: TensorChunks): Promise<ChunkMerger> | ChunkMerger;
  /** Smallest run of elements a chunk may hold (a row for row-wise methods); default 1. */
  atom?(shape: readonly number[], parameters: Record<string, number>, choices: Record<string, string>): number;
  /** Peak working set in bytes per element of a chunk, inputs included; default 4·(3·inputs + 4). */
  bytesPerElement?(inputs: number, choices: Record<string, string>): number;
}

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
  /**
   * Whole-model statistics; returns the merge to use instead of `merge`, or undefined for plain
   * per-tensor merging. The returned merger must be elementwise: past the memory budget the
   * executor visits and merges tensors chunk by chunk (`ChunkInput`).
   */
  prepare?: (context: WholeModelContext, choices: Record<string, string>) => Promise<TensorMerger | undefined>;
  /** Per-tensor merging in chunks (see StreamingMerge); absent, a tensor must fit the budget whole. */
  streaming?: StreamingMerge;
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
