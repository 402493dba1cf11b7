import { elementwiseStreaming } from '../streaming/by-choice';
import { MergeMethod, boolean01, finite } from './merge-method';

/** Weighted average of the models' weights (mergekit `linear`, Wortsman et al.'s model soups). */
export const linear: MergeMethod = {
  name: 'linear',
  requiresBase: false,
  parameters: [
    { name: 'weight', scope: 'model', check: finite, description: 'weight of this model in the sum' },
    { name: 'normalize', scope: 'global', default: 1, check: boolean01, description: 'divide by the sum of weights' },
  ],
  validate(modelParameters, parameters) {
    const total = modelParameters.reduce((sum, p) => sum + p['weight'], 0);
    return parameters['normalize'] === 1 && Math.abs(total) < 1e-12 ? ['weights sum to zero, so normalize would divide by zero'] : [];
  },
  merge({ models, modelParameters, parameters }) {
    const out = new Float32Array(models[0].length);
    let total = 0;
    models.forEach((values, i) => {
      const w = modelParameters[i]['weight'];
      total += w;
      for (let j = 0; j < out.length; j++) out[j] += w * values[j];
    });
    if (parameters['normalize'] === 1) {
      const inv = 1 / total;
      for (let j = 0; j < out.length; j++) out[j] *= inv;
    }
    return out;
  },
  streaming: elementwiseStreaming((chunk) => linear.merge(chunk), (inputs) => 4 * (inputs + 2)),
};
