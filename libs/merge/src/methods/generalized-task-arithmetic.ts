import { PatchworkError } from '@patchwork/errors';
import { Consensus, combineDeltas, taskVectors } from '../math/consensus';
import { streamKey } from '../math/random';
import { RescaleMode, dellaSparsify, magnitudeOutliersSparsify, magnitudeSparsify, randomSparsify } from '../math/sparsify';
import {
  densitySpec,
  epsilonSpec,
  gammaSpec,
  int8MaskSpec,
  lambdaSpec,
  majoritySignSpec,
  normalizeSpec,
  rescaleMethodSpec,
  rescaleSpec,
  seedSpec,
  weightSpec,
} from './common-parameters';
import { ParameterSpec, TensorMergeInput, choiceOf } from './merge-method';

/**
 * mergekit's generalized task arithmetic (`generalized_task_arithmetic.py`): sparsify each task
 * vector, weight it, optionally elect signs, combine, scale by lambda. The table of its methods:
 *
 *   method            sparsifier          consensus  normalize  rescale
 *   ties              magnitude           yes        true       false
 *   magnitude_prune   magnitude           no         false      false
 *   dare_linear       random              no         false      true
 *   dare_ties         random              yes        false      true
 *   breadcrumbs       magnitude_outliers  no         false      false
 *   breadcrumbs_ties  magnitude_outliers  yes        false      false
 *   della             della_magprune      yes        true       true
 *   della_linear      della_magprune      no         false      true
 */
export type Sparsifier = 'magnitude' | 'random' | 'magnitude_outliers' | 'della';

export interface GtaDefinition {
  sparsifier: Sparsifier;
  consensus: boolean;
  normalize: 0 | 1;
  rescale: 0 | 1;
}

const RANDOM: ReadonlySet<Sparsifier> = new Set(['random', 'della']);

/** The parameters a GTA method reads (mergekit's names and defaults). */
export function gtaParameters(def: GtaDefinition): ParameterSpec[] {
  return [
    weightSpec,
    densitySpec,
    ...(def.sparsifier === 'magnitude_outliers' ? [gammaSpec] : []),
    ...(def.sparsifier === 'della' ? [epsilonSpec] : []),
    lambdaSpec,
    normalizeSpec(def.normalize),
    rescaleSpec(def.rescale),
    ...(RANDOM.has(def.sparsifier) ? [rescaleMethodSpec, seedSpec] : []),
    ...(def.consensus ? [majoritySignSpec] : []),
    int8MaskSpec,
  ];
}

/** Rows for row-wise sparsification: dim 0 indexes rows, the rest is one row; rank <= 1 is one row. */
export function rowLengthOf(shape: readonly number[] | undefined, length: number): number {
  if (!shape || shape.length < 2 || shape[0] === 0) return Math.max(length, 1);
  return length / shape[0];
}

export function sparsifyDelta(def: GtaDefinition, delta: Float32Array, model: number, input: TensorMergeInput): Float32Array {
  const p = input.modelParameters[model];
  const density = p['density'];
  const rescale = input.parameters['rescale'] === 1;
  const name = input.name ?? '';
  const mode = (): RescaleMode => (rescale ? (choiceOf(input, rescaleMethodSpec) as RescaleMode) : 'none');
  const key = () => streamKey(input.parameters['seed'] ?? 0, name, model);
  switch (def.sparsifier) {
    case 'magnitude':
      return magnitudeSparsify(delta, density, rescale, name || 'tensor');
    case 'random':
      return randomSparsify(delta, density, mode(), key());
    case 'magnitude_outliers':
      return magnitudeOutliersSparsify(delta, density, p['gamma'], rescale);
    case 'della':
      return dellaSparsify(delta, density, p['epsilon'], rowLengthOf(input.shape, delta.length), mode(), key());
  }
}

/** One tensor through the whole mergekit pipeline. */
export function mergekitGta(def: GtaDefinition, input: TensorMergeInput): Float32Array {
  const { base, models, modelParameters, parameters } = input;
  if (!base) throw new PatchworkError('INTERNAL', 'task-vector merges need the base tensor');
  const deltas = taskVectors(base, models).map((delta, i) => sparsifyDelta(def, delta, i, input));
  const consensus: Consensus = def.consensus ? (choiceOf(input, majoritySignSpec) === 'frequency' ? 'count' : 'sum') : null;
  return combineDeltas(
    base,
    deltas,
    modelParameters.map((p) => p['weight']),
    { consensus, normalize: parameters['normalize'] === 1, lambda: parameters['lambda'] },
  );
}

/** Parameter-set checks shared by the GTA methods (a zero weight sum under normalize divides by 1, as in mergekit). */
export function validateGta(def: GtaDefinition, modelParameters: Record<string, number>[]): string[] {
  if (def.sparsifier !== 'della') return [];
  const problems = new Set<string>();
  for (const p of modelParameters) {
    if (p['density'] < 1 && (p['density'] - p['epsilon'] < 0 || p['density'] + p['epsilon'] > 1)) {
      problems.add(`density ± epsilon must stay within [0, 1] (they are keep probabilities), got density ${p['density']}, epsilon ${p['epsilon']}`);
    }
  }
  return [...problems];
}
