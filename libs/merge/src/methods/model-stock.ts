import { PatchworkError } from '@patchwork/errors';
import { modelStock as modelStockMerge } from '../math/model-stock';
import { MergeMethod, boolean01 } from './merge-method';

/**
 * Model Stock (Jang et al., 2024), as mergekit's `model_stock`: move from the base toward the
 * average of the fine-tuned models by a ratio set by the angle between their offsets. Needs a
 * base and at least two models; per-model weights do not exist in this method.
 */
export const modelStock: MergeMethod = {
  name: 'model_stock',
  requiresBase: true,
  parameters: [{ name: 'filter_wise', scope: 'global', default: 0, check: boolean01, description: 'one ratio per row (last dimension) instead of per tensor' }],
  validate: (modelParameters) => (modelParameters.length >= 2 ? [] : [`model_stock needs at least two models besides the base, got ${modelParameters.length}`]),
  merge: ({ base, models, parameters, shape }) => {
    if (!base) throw new PatchworkError('INTERNAL', 'model_stock needs the base tensor');
    const last = shape && shape.length > 0 ? shape[shape.length - 1] : base.length;
    return modelStockMerge(base, models, parameters['filter_wise'] === 1 && last > 0 ? last : base.length);
  },
};
