import { PatchworkError } from '@patchwork/errors';
import { addScaled, taskVectors } from '../math/consensus';
import { MajoritySignMethod, electAndMerge, prune, taskArithmetic } from '../math/peft-merge-utils';
import { streamKey, uniformAt } from '../math/random';
import { majoritySignSpec } from './common-parameters';
import { TensorMergeInput, choiceOf } from './merge-method';

export type PeftCombination = 'task_arithmetic' | 'magnitude_prune' | 'ties' | 'dare_linear' | 'dare_ties';

/** Parameters of the mergekit pipeline that PEFT's functions do not have. */
export const PEFT_UNUSED = ['normalize', 'rescale', 'rescale_method'] as const;

/**
 * One tensor merged with PEFT's `merge_utils` function of the same name on the task vectors, then
 * added to the base: base + lambda · f(τ, weights, density). Each model may have its own density
 * (PEFT takes one; equal densities give PEFT's result exactly). DARE always rescales by 1/density.
 */
export function peftTensorMerge(kind: PeftCombination, input: TensorMergeInput): Float32Array {
  const { base, models, modelParameters, parameters } = input;
  if (!base) throw new PatchworkError('INTERNAL', 'task-vector merges need the base tensor');
  const tasks = taskVectors(base, models);
  const weights = modelParameters.map((p) => p['weight']);
  const random = kind === 'dare_linear' || kind === 'dare_ties';
  const pruned = tasks.map((t, i) => {
    if (kind === 'task_arithmetic') return t;
    const density = modelParameters[i]['density'];
    if (!random) return prune(t, density, 'magnitude');
    const key = streamKey(parameters['seed'] ?? 0, input.name ?? '', i);
    return prune(t, density, 'random', { rescale: true, uniform: (j) => uniformAt(key, j) });
  });
  const merged =
    kind === 'ties' || kind === 'dare_ties'
      ? electAndMerge(pruned, weights, choiceOf(input, majoritySignSpec) as MajoritySignMethod)
      : taskArithmetic(pruned, weights);
  return addScaled(base, merged, parameters['lambda']);
}
