import { semanticsSpec, unusedUnder } from './common-parameters';
import { GtaDefinition, gtaParameters, mergekitGta } from './generalized-task-arithmetic';
import { MergeMethod, choiceOf } from './merge-method';
import { streamingByChoice } from '../streaming/by-choice';
import { gtaStreaming } from '../streaming/gta-streaming';
import { peftStreaming } from '../streaming/peft-streaming';
import { PEFT_UNUSED, peftTensorMerge } from './peft-semantics';

const DEFINITION: GtaDefinition = { sparsifier: 'magnitude', consensus: false, normalize: 0, rescale: 0 };
const semantics = semanticsSpec(['mergekit', 'peft']);

/**
 * Magnitude pruning of each task vector, then a weighted sum.
 * - `semantics: mergekit` (default): the generalized task arithmetic pipeline with the TIES trim
 *   and no sign election (normalize and L1 rescale available; density keeping nothing is an error).
 * - `semantics: peft`: PEFT's `magnitude_prune` (prune each, weighted sum; k = 0 zeroes the tensor).
 */
export const magnitudePrune: MergeMethod = {
  name: 'magnitude_prune',
  requiresBase: true,
  parameters: [...gtaParameters(DEFINITION), semantics],
  validate: (_m, _p, context) => (context?.choices['semantics'] === 'peft' ? unusedUnder('peft', PEFT_UNUSED, context.given) : []),
  merge: (input) => (choiceOf(input, semantics) === 'peft' ? peftTensorMerge('magnitude_prune', input) : mergekitGta(DEFINITION, input)),
  streaming: streamingByChoice(semantics, { mergekit: gtaStreaming(DEFINITION), peft: peftStreaming('magnitude_prune') }),
};
