import { gtaMethod } from './gta-method';

/**
 * DELLA-Merging (Deep et al.): MAGPRUNE keeps each element with a probability that grows with its
 * magnitude rank in its row (density ± epsilon), rescales, then elects signs and averages over
 * the agreeing weights (mergekit's `della`).
 */
export const della = gtaMethod('della', { sparsifier: 'della', consensus: true, normalize: 1, rescale: 1 });
