import { semanticsSpec, unusedUnder } from './common-parameters';
import { GtaDefinition, gtaParameters, mergekitGta } from './generalized-task-arithmetic';
import { MergeMethod, choiceOf } from './merge-method';
import { streamingByChoice } from '../streaming/by-choice';
import { gtaStreaming } from '../streaming/gta-streaming';
import { peftStreaming } from '../streaming/peft-streaming';
import { PEFT_UNUSED, peftTensorMerge } from './peft-semantics';

const DEFINITION: GtaDefinition = { sparsifier: 'random', consensus: true, normalize: 0, rescale: 1 };
const semantics = semanticsSpec(['mergekit', 'peft']);

/**
 * DARE sparsification followed by TIES sign election.
 * - `semantics: mergekit` (default): weighted election, sum of agreeing weighted deltas (normalize
 *   off by default), L1 or 1/density rescale.
 * - `semantics: peft`: PEFT's `dare_ties` (unweighted election, disjoint mean over the count).
 */
export const dareTies: MergeMethod = {
  name: 'dare_ties',
  requiresBase: true,
  parameters: [...gtaParameters(DEFINITION), semantics],
  validate: (_m, _p, context) => (context?.choices['semantics'] === 'peft' ? unusedUnder('peft', PEFT_UNUSED, context.given) : []),
  merge: (input) => (choiceOf(input, semantics) === 'peft' ? peftTensorMerge('dare_ties', input) : mergekitGta(DEFINITION, input)),
  streaming: streamingByChoice(semantics, { mergekit: gtaStreaming(DEFINITION), peft: peftStreaming('dare_ties') }),
};
