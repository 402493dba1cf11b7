import { PatchworkError } from '@patchwork/errors';
import { addScaled, taskVectors } from '../math/consensus';
import { SignElection, disjointMean, signTally, tiesMerging, trimAt, trimThresholdRank } from '../math/ties-paper';
import { MultiStreamSelector } from '../stats/multi-stream-select';
import { majoritySignSpec } from './common-parameters';
import { assertModelWide } from './model-wide';
import { TensorMergeInput, TensorMerger, WholeModelContext } from './merge-method';

/** w_i·τ_i per model: the paper has no weights; weight 1 reproduces it, other weights scale a task up front. */
function scaledTasks(input: TensorMergeInput): Float32Array[] {
  if (!input.base) throw new PatchworkError('INTERNAL', 'task-vector merges need the base tensor');
  return taskVectors(input.base, input.models).map((t, i) => {
    const w = input.modelParameters[i]['weight'];
    return w === 1 ? t : t.map((x) => x * w);
  });
}

function electionOf(choices: Record<string, string> | undefined): SignElection {
  return (choices?.[majoritySignSpec.name] ?? majoritySignSpec.default) as SignElection;
}

/** Paper TIES with one tensor standing for the whole model. */
export function tiesPaperOnTensor(input: TensorMergeInput): Float32Array {
  const merged = tiesMerging(scaledTasks(input), input.modelParameters.map((p) => p['density']), electionOf(input.choices));
  return addScaled(input.base as Float32Array, merged, input.parameters['lambda']);
}

/**
 * The original TIES over the whole flattened model, in bounded memory: two walks find each model's
 * exact global trim threshold, a third tallies the global majority sign, and the merge pass
 * applies them tensor by tensor.
 */
export async function prepareTiesPaper(context: WholeModelContext, choices: Record<string, string>): Promise<TensorMerger> {
  const method = electionOf(choices);
  const state: { selector?: MultiStreamSelector; densities: number[] } = { densities: [] };
  const seen = new Map<string, number>();
  await context.forEachTensor((input) => {
    const tasks = scaledTasks(input);
    const selector = (state.selector ??= new MultiStreamSelector(tasks.length, true, (i) => `task vector of model ${i}`));
    state.densities = input.modelParameters.map((p, i) => {
      assertModelWide(seen, `density ${i}`, 'density', p['density'], 'density under semantics: paper');
      return p['density'];
    });
    tasks.forEach((t, i) => selector.addFirst(i, t));
  });
  const select = state.selector;
  if (!select) throw new PatchworkError('FAILED_PRECONDITION', 'the model has no floating-point tensors to merge');
  const densities = state.densities;
  const ranks = densities.map((density, i) => {
    const rank = trimThresholdRank(select.count(i), density);
    return rank === null ? [] : [rank];
  });
  select.select(ranks);
  await context.forEachTensor((input) => scaledTasks(input).forEach((t, i) => select.addSecond(i, t)));
  const thresholds = select.values().map((list) => (list.length === 0 ? 0 : list[0]));

  const trimmedOf = (input: TensorMergeInput) => scaledTasks(input).map((t, i) => trimAt(t, thresholds[i]));
  let tally = 0;
  await context.forEachTensor((input) => void (tally += signTally(trimmedOf(input), method)));
  const majority = Math.sign(tally);

  return (input) => addScaled(input.base as Float32Array, disjointMean(trimmedOf(input), method, majority), input.parameters['lambda']);
}
