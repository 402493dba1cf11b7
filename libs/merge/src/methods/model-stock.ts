import { PatchworkError } from '@patchwork/errors';
import { accumulateModelStock, applyModelStock, modelStockRatio, modelStockStats, modelStock as modelStockMerge } from '../math/model-stock';
import { MergeMethod, boolean01 } from './merge-method';

const lastDimension = (shape: readonly number[] | undefined, length: number) => (shape && shape.length > 0 ? shape[shape.length - 1] : length);

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
    const last = lastDimension(shape, base.length);
    return modelStockMerge(base, models, parameters['filter_wise'] === 1 && last > 0 ? last : base.length);
  },
  // filter_wise rows stay inside one chunk (its atom), so each chunk merges on its own; the
  // tensor-wide ratio takes one walk for the norms and dot products.
  streaming: {
    atom: (shape, parameters) => {
      const length = shape.reduce((a, b) => a * b, 1);
      const last = lastDimension(shape, length);
      return parameters['filter_wise'] === 1 && last > 0 ? last : 1;
    },
    prepare: async (tensor) => {
      const last = lastDimension(tensor.shape, tensor.length);
      if (tensor.parameters['filter_wise'] === 1 && last > 0) {
        return (chunk) => modelStockMerge(chunk.base as Float32Array, chunk.models, last);
      }
      const stats = modelStockStats(tensor.modelParameters.length);
      await tensor.forEachChunk((chunk) => accumulateModelStock(stats, chunk.base as Float32Array, chunk.models));
      const t = modelStockRatio(stats);
      return (chunk) => {
        const out = new Float32Array(chunk.models[0].length);
        applyModelStock(t, chunk.base as Float32Array, chunk.models, out);
        return out;
      };
    },
  },
};
