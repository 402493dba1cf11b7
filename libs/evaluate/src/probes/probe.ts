import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { Pooling } from './pool';

export const PROBE_FORMAT = 'patchwork.probe/v1';

/**
 * A linear behaviour probe on pooled hidden states: class scores W·h + b for a pooled hidden
 * state h of `layer`. Rows follow Model Surgery's convention when trained on
 * {0: desired, 1: undesired}: row 1 is the undesired direction W_n whose cosine with gate_proj
 * rows selects the region to edit.
 */
export interface BehaviourProbe {
  readonly format: typeof PROBE_FORMAT;
  /** hidden_states index (0 = embeddings), never negative. */
  readonly layer: number;
  readonly pooling: Pooling;
  readonly hiddenSize: number;
  /** Class names, one per row of the weight. */
  readonly classes: readonly string[];
  /** `[classes, hiddenSize]` row-major, acting on raw pooled hidden states. */
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  /** The L2 strength it was fitted with (standardised features). */
  readonly l2: number;
}

export function classIndex(probe: BehaviourProbe, cls: number | string): number {
  const index = typeof cls === 'string' ? probe.classes.indexOf(cls) : cls;
  if (!Number.isInteger(index) || index < 0 || index >= probe.classes.length) {
    throw invalidArgument('class', `must be one of ${probe.classes.map((c, i) => `${i} (${c})`).join(', ')}, got ${JSON.stringify(cls)}`);
  }
  return index;
}

/** A copy of the probe's weight row for `cls` (unnormalised, like Model Surgery's v = W[1]). */
export function probeDirection(probe: BehaviourProbe, cls: number | string = 1): Float32Array {
  const k = classIndex(probe, cls);
  return probe.weight.slice(k * probe.hiddenSize, (k + 1) * probe.hiddenSize);
}

export function checkProbe(probe: BehaviourProbe): BehaviourProbe {
  const c = probe?.classes?.length;
  const ok =
    probe?.format === PROBE_FORMAT &&
    Number.isInteger(probe.layer) &&
    probe.layer >= 0 &&
    (probe.pooling === 'mean' || probe.pooling === 'last') &&
    Number.isInteger(probe.hiddenSize) &&
    probe.hiddenSize > 0 &&
    c >= 2 &&
    probe.weight instanceof Float32Array &&
    probe.weight.length === c * probe.hiddenSize &&
    probe.bias instanceof Float32Array &&
    probe.bias.length === c;
  if (!ok) throw new PatchworkError('INVALID_ARGUMENT', `probe: not a ${PROBE_FORMAT} probe with a [classes, hiddenSize] weight and a bias per class`);
  return probe;
}
