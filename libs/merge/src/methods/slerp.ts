import { PatchworkError } from '@patchwork/errors';
import { accumulateSlerp, slerpApply, slerpCoefficients, slerpStats, slerp as slerpVectors } from '../math/slerp';
import { MergeMethod, TensorMergeInput, fraction } from './merge-method';

function endpoints({ base, models }: TensorMergeInput): [Float32Array, Float32Array] {
  const [v0, v1] = base ? [base, models[0]] : [models[0], models[1]];
  if (!v0 || !v1) throw new PatchworkError('INTERNAL', 'slerp needs two tensors');
  return [v0, v1];
}

/**
 * Spherical interpolation between two models (mergekit's `slerp`), tensor by tensor, at `t`
 * (a number, or a gradient / filter list so attention and MLP tensors can follow different curves).
 * With `base_model`, it is the t = 0 end and exactly one other model is listed (mergekit recipes
 * list both; the base entry is then taken as the base); without one, exactly two models.
 */
export const slerp: MergeMethod = {
  name: 'slerp',
  requiresBase: false,
  acceptsBase: true,
  parameters: [{ name: 't', scope: 'global', check: fraction, description: 'interpolation position in [0, 1] (0 = base or first model)' }],
  validate: (modelParameters, _p, context) => {
    const expected = context?.hasBase ? 1 : 2;
    return modelParameters.length === expected
      ? []
      : [`slerp interpolates two models: ${context?.hasBase ? 'base_model and exactly one other model' : 'exactly two models (or a base_model and one more)'}, got ${modelParameters.length}${context?.hasBase ? ' besides the base' : ''}`];
  },
  merge: (input) => slerpVectors(input.parameters['t'], ...endpoints(input)),
  // The angle needs both norms and the dot product over the whole tensor: one walk, unless t is an endpoint.
  streaming: {
    prepare: async (tensor) => {
      const t = tensor.parameters['t'];
      const stats = slerpStats();
      if (t > 0 && t < 1) await tensor.forEachChunk((chunk) => accumulateSlerp(stats, ...endpoints(chunk)));
      const coefficients = slerpCoefficients(t, stats);
      return (chunk) => slerpApply(t, coefficients, ...endpoints(chunk));
    },
    bytesPerElement: (inputs) => 4 * (inputs + 2),
  },
};
