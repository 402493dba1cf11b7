import { gtaMethod } from './gta-method';

/** DELLA's MAGPRUNE without sign election: a weighted sum of the pruned task vectors (mergekit's `della_linear`). */
export const dellaLinear = gtaMethod('della_linear', { sparsifier: 'della', consensus: false, normalize: 0, rescale: 1 });
