import { semanticsSpec, unusedUnder } from './common-parameters';
import { GtaDefinition, gtaParameters, mergekitGta } from './generalized-task-arithmetic';
import { MergeMethod, choiceOf } from './merge-method';
import { streamingByChoice } from '../streaming/by-choice';
import { chunksAsModel } from '../streaming/chunk-context';
import { gtaStreaming } from '../streaming/gta-streaming';
import { peftStreaming } from '../streaming/peft-streaming';
import { PEFT_UNUSED, peftTensorMerge } from './peft-semantics';
import { prepareTiesPaper, tiesPaperOnTensor } from './ties-paper';

const DEFINITION: GtaDefinition = { sparsifier: 'magnitude', consensus: true, normalize: 1, rescale: 0 };
const semantics = semanticsSpec(['mergekit', 'peft', 'paper']);

/**
 * TIES-Merging (Yadav et al.): trim, elect sign, disjoint merge. Three published semantics
 * (research/merge.md 2.3), all per model `weight` and `density`, global `lambda`:
 * - `mergekit` (default): per tensor; exact top-k trim; signs elected on the weighted deltas; sum
 *   of agreeing weighted deltas divided by the sum of agreeing weights (normalize).
 * - `peft`: per tensor; PEFT's `ties` (unweighted election, mean over the agreeing count).
 * - `paper`: the original code over the whole flattened model: global trim thresholds (ties at
 *   the threshold kept), zero elections resolved by the model's majority sign, plain mean; weight
 *   scales a task vector before everything (1 reproduces the paper). Runs three statistics walks.
 * `majority_sign_method`: total (sum) or frequency (count of signs) for every semantics.
 */
export const ties: MergeMethod = {
  name: 'ties',
  requiresBase: true,
  parameters: [...gtaParameters(DEFINITION), semantics],
  validate: (_m, _p, context) => {
    const chosen = context?.choices['semantics'];
    if (chosen === 'peft') return unusedUnder('peft', PEFT_UNUSED, context?.given);
    if (chosen === 'paper') return unusedUnder('paper', ['normalize', 'rescale'], context?.given);
    return [];
  },
  merge: (input) => {
    const chosen = choiceOf(input, semantics);
    if (chosen === 'peft') return peftTensorMerge('ties', input);
    // Called on its own (no whole-model walks), paper semantics treats the tensor as the whole model.
    if (chosen === 'paper') return tiesPaperOnTensor(input);
    return mergekitGta(DEFINITION, input);
  },
  prepare: async (context, choices) => (choices['semantics'] === 'paper' ? prepareTiesPaper(context, choices) : undefined),
  streaming: streamingByChoice(semantics, {
    mergekit: gtaStreaming(DEFINITION),
    peft: peftStreaming('ties'),
    paper: { prepare: (tensor) => prepareTiesPaper(chunksAsModel(tensor), tensor.choices) },
  }),
};
