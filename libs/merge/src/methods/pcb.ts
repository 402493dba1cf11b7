import { PatchworkError } from '@patchwork/errors';
import { addScaled, taskVectors } from '../math/consensus';
import {
  PcbScaleStats,
  PcbTaskStats,
  balanceScores,
  clampTask,
  clipRanks,
  combineScaled,
  pcbMerge,
  scalesFromBeta,
  sumOfTasks,
  thresholdRank,
} from '../math/pcb';
import { MultiStreamSelector } from '../stats/multi-stream-select';
import { lambdaSpec } from './common-parameters';
import { ChoiceParameterSpec, MergeMethod, TensorMergeInput, TensorMerger, WholeModelContext, choiceOf, finite } from './merge-method';
import { assertModelWide } from './model-wide';
import { chunksAsModel } from '../streaming/chunk-context';

const scope: ChoiceParameterSpec = {
  name: 'scope',
  type: 'choice',
  scope: 'global',
  choices: ['model', 'tensor'],
  default: 'model',
  description: 'model: the paper\'s whole flattened model (global quantiles); tensor: each tensor on its own (cheaper, the usual choice at LLM scale)',
};

function tasksOf(input: TensorMergeInput): Float32Array[] {
  if (!input.base) throw new PatchworkError('INTERNAL', 'pcb needs the base tensor');
  return taskVectors(input.base, input.models);
}

const weightsOf = (input: TensorMergeInput) => input.modelParameters.map((p) => p['weight']);

/**
 * The whole-model PCB in bounded memory. Walks 1–2 select each task's clip bounds lo_i, hi_i
 * (exact global order statistics of |τ_i|); walks 3–4 recompute β_i tensor by tensor and select
 * its threshold (and maximum); the merge pass then applies the elementwise formula with these four
 * numbers per task. One tensor of each input is held at a time; the selectors use 512 KiB
 * histograms per task.
 */
async function prepareModelScope(context: WholeModelContext): Promise<TensorMerger> {
  const seen = new Map<string, number>();
  const state: { clip?: MultiStreamSelector; ratio: number; clipFraction: number } = { ratio: 0, clipFraction: 0 };
  await context.forEachTensor((input) => {
    assertModelWide(seen, 'ratio', 'parameters.ratio', input.parameters['ratio'], 'ratio under scope: model');
    assertModelWide(seen, 'clip', 'parameters.clip', input.parameters['clip'], 'clip under scope: model');
    state.ratio = input.parameters['ratio'];
    state.clipFraction = input.parameters['clip'];
    const tasks = tasksOf(input);
    const selector = (state.clip ??= new MultiStreamSelector(tasks.length, true, (i) => `task vector of model ${i}`));
    tasks.forEach((t, i) => selector.addFirst(i, t));
  });
  const clipSelector = state.clip;
  if (!clipSelector) throw new PatchworkError('FAILED_PRECONDITION', 'the model has no floating-point tensors to merge');
  const n = clipSelector.streams;
  const d = clipSelector.count(0);
  clipSelector.select(Array.from({ length: n }, () => clipRanks(d, state.clipFraction)));
  await context.forEachTensor((input) => tasksOf(input).forEach((t, i) => clipSelector.addSecond(i, t)));
  const taskStats: PcbTaskStats[] = clipSelector.values().map(([lo, hi]) => ({ lo, hi }));

  const betasOf = (tasks: Float32Array[]) => {
    const sum = sumOfTasks(tasks);
    return tasks.map((t, i) => balanceScores(t, sum, n, taskStats[i], new Float32Array(t.length)));
  };
  const betaSelector = new MultiStreamSelector(n, false, (i) => `balance scores of model ${i}`);
  const maxBeta = new Array<number>(n).fill(-Infinity);
  await context.forEachTensor((input) =>
    betasOf(tasksOf(input)).forEach((beta, i) => {
      betaSelector.addFirst(i, beta);
      for (let j = 0; j < beta.length; j++) if (beta[j] > maxBeta[i]) maxBeta[i] = beta[j];
    }),
  );
  betaSelector.select(Array.from({ length: n }, () => [thresholdRank(d, state.ratio)]));
  await context.forEachTensor((input) => betasOf(tasksOf(input)).forEach((beta, i) => betaSelector.addSecond(i, beta)));
  const scaleStats: PcbScaleStats[] = betaSelector.values().map(([threshold], i) => ({ threshold, maxBeta: maxBeta[i] }));

  return (input) => {
    const tasks = tasksOf(input);
    const scales = betasOf(tasks).map((beta, i) => scalesFromBeta(beta, scaleStats[i]));
    const clamped = tasks.map((t, i) => clampTask(t, taskStats[i]));
    return addScaled(input.base as Float32Array, combineScaled(clamped, scales, weightsOf(input)), input.parameters['lambda']);
  };
}

/**
 * PCB-Merging (Du et al., NeurIPS 2024), the authors' released algorithm (see math/pcb.ts):
 * intra- and inter-model balancing scores, a keep ratio, outlier clipping, per-element normalised
 * weights; the model is base + lambda·τ_m. Per model `weight` is the ES variant's λ_i (default 1,
 * which is plain PCB_merge; `searchCoefficients` tunes them). `scope: model` (default) is the
 * paper's whole-model flattening, computed exactly in four statistics walks; `scope: tensor`
 * applies PCB to each tensor on its own.
 */
export const pcb: MergeMethod = {
  name: 'pcb',
  requiresBase: true,
  parameters: [
    { name: 'weight', scope: 'model', default: 1, check: finite, description: "this model's coefficient λ_i (numerator only, as in the authors' ES variant)" },
    {
      name: 'ratio',
      scope: 'global',
      default: 0.1,
      check: (v) => (Number.isFinite(v) && v > 0 && v <= 1 ? undefined : 'must be within (0, 1]'),
      description: 'fraction of each task vector kept (pcb_ratio; the authors use 0.05–0.2)',
    },
    {
      name: 'clip',
      scope: 'global',
      default: 1e-4,
      check: (v) => (Number.isFinite(v) && v >= 0 && v < 0.5 ? undefined : 'must be within [0, 0.5)'),
      description: 'fraction of the smallest and largest magnitudes clamped as outliers',
    },
    { ...lambdaSpec, description: 'scale of the merged task vector (the authors tune it, e.g. 0.8–2.2)' },
    scope,
  ],
  merge: (input) => {
    const merged = pcbMerge(tasksOf(input), { ratio: input.parameters['ratio'], clip: input.parameters['clip'] }, weightsOf(input)).merged;
    return addScaled(input.base as Float32Array, merged, input.parameters['lambda']);
  },
  prepare: async (context, choices) => (choiceOf({ choices }, scope) === 'model' ? prepareModelScope(context) : undefined),
  // PCB of one tensor is the whole-model algorithm over that tensor's chunks.
  streaming: { prepare: (tensor) => prepareModelScope(chunksAsModel(tensor)), bytesPerElement: (inputs) => 4 * (4 * inputs + 4) },
};
