import { PatchworkError } from '@patchwork/errors';
import type { ForwardOutput, LinearPatchSet, Model, ModelInputs } from '@patchwork/models';

/**
 * What the serving primitives need of an adapter. `@patchwork/peft`'s adapters (LoRA, AdaLoRA,
 * HUT) and this library's `BottleneckAdapter` and `MosTaskAdapter` fit as they are.
 */
export interface ServableAdapter {
  /** Inference patches for `model.forward`, keyed by module. */
  patches(options?: { training?: boolean }): LinearPatchSet;
  dispose(): void;
  /** The base model the adapter was built on, when it records one; it must be the predictor's. */
  readonly model?: Model;
  /**
   * Base parameters the adapter trains in full (PEFT `modules_to_save`, biases). Such an adapter
   * changes more than projections, so it cannot share a forward pass with other adapters and runs
   * through its own `forward`.
   */
  readonly savedParameterKeys?: readonly string[];
  forward?(inputs: ModelInputs): ForwardOutput;
  /**
   * Set by adapters whose patches change the width of the logits (a replacement head): requests
   * share a forward pass only with adapters of the same key (none: the base model's head).
   */
  readonly outputKey?: string;
  /** Bytes of its tensors, when it reports them. */
  readonly numBytes?: number;
  trainableVariables?(): ReadonlyArray<{ readonly size: number; readonly dtype: string }>;
}

const BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

/** Bytes held by an adapter: its `numBytes`, else the sum over its variables. */
export function adapterBytes(adapter: ServableAdapter): number {
  if (typeof adapter.numBytes === 'number') return adapter.numBytes;
  if (typeof adapter.trainableVariables === 'function') return adapter.trainableVariables().reduce((n, v) => n + v.size * (BYTES[v.dtype] ?? 4), 0);
  throw new PatchworkError('INVALID_ARGUMENT', 'sizeOf: the adapter reports neither numBytes nor trainableVariables(); pass a sizeOf function to the cache');
}
