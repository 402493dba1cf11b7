import { semanticsSpec, unusedUnder } from './common-parameters';
import { GtaDefinition, gtaParameters, mergekitGta } from './generalized-task-arithmetic';
import { MergeMethod, choiceOf } from './merge-method';
import { streamingByChoice } from '../streaming/by-choice';
import { gtaStreaming } from '../streaming/gta-streaming';
import { peftStreaming } from '../streaming/peft-streaming';
import { PEFT_UNUSED, peftTensorMerge } from './peft-semantics';

const DEFINITION: GtaDefinition = { sparsifier: 'random', consensus: false, normalize: 0, rescale: 1 };
const semantics = semanticsSpec(['mergekit', 'peft']);

/**
 * DARE (Yu et al.): drop each task-vector element with probability 1 − density, rescale, add.
 * Seeded: the mask of element j of model i in tensor X depends on (seed, X, i, j) only.
 * - `semantics: mergekit` (default): rescale by L1 (`rescale_method: l1`, mergekit since 2025) or
 *   by 1/density (`inverse`, the paper); normalize off by default.
 * - `semantics: peft`: PEFT's `dare_linear` (always 1/density).
 */
export const dareLinear: MergeMethod = {
  name: 'dare_linear',
  requiresBase: true,
  parameters: [...gtaParameters(DEFINITION), semantics],
  validate: (_m, _p, context) => (context?.choices['semantics'] === 'peft' ? unusedUnder('peft', PEFT_UNUSED, context.given) : []),
  merge: (input) => (choiceOf(input, semantics) === 'peft' ? peftTensorMerge('dare_linear', input) : mergekitGta(DEFINITION, input)),
  streaming: streamingByChoice(semantics, { mergekit: gtaStreaming(DEFINITION), peft: peftStreaming('dare_linear') }),
};
