import { semanticsSpec, unusedUnder } from './common-parameters';
import { MergeMethod, boolean01, choiceOf, finite } from './merge-method';
import { peftTensorMerge } from './peft-semantics';
import { elementwiseStreaming, streamingByChoice } from '../streaming/by-choice';
import { peftStreaming } from '../streaming/peft-streaming';

const semantics = semanticsSpec(['mergekit', 'peft']);

/**
 * Task arithmetic (Ilharco et al.): base + lambda * sum_i w_i (theta_i - base), optionally divided
 * by sum_i w_i, as mergekit's `task_arithmetic` (normalize off by default). `semantics: peft` is
 * PEFT's `task_arithmetic` (float32 evaluation order, no normalize).
 */
export const taskArithmetic: MergeMethod = {
  name: 'task_arithmetic',
  requiresBase: true,
  parameters: [
    { name: 'weight', scope: 'model', check: finite, description: 'scale of this model\'s task vector' },
    { name: 'lambda', scope: 'global', default: 1, check: finite, description: 'scale of the summed task vector' },
    { name: 'normalize', scope: 'global', default: 0, check: boolean01, description: 'divide by the sum of weights' },
    semantics,
  ],
  validate(modelParameters, parameters, context) {
    if (context?.choices['semantics'] === 'peft') return unusedUnder('peft', ['normalize'], context.given);
    const total = modelParameters.reduce((sum, p) => sum + p['weight'], 0);
    return parameters['normalize'] === 1 && Math.abs(total) < 1e-12 ? ['weights sum to zero, so normalize would divide by zero'] : [];
  },
  merge(input) {
    if (choiceOf(input, semantics) === 'peft') return peftTensorMerge('task_arithmetic', input);
    const { base, models, modelParameters, parameters } = input;
    if (!base) throw new Error('task_arithmetic needs a base tensor');
    const delta = new Float32Array(base.length);
    let total = 0;
    models.forEach((values, i) => {
      const w = modelParameters[i]['weight'];
      total += w;
      for (let j = 0; j < delta.length; j++) delta[j] += w * (values[j] - base[j]);
    });
    const scale = parameters['lambda'] / (parameters['normalize'] === 1 ? total : 1);
    const out = new Float32Array(base.length);
    for (let j = 0; j < out.length; j++) out[j] = base[j] + scale * delta[j];
    return out;
  },
  streaming: streamingByChoice(semantics, { mergekit: elementwiseStreaming((chunk) => taskArithmetic.merge(chunk), (inputs) => 4 * (inputs + 3)), peft: peftStreaming('task_arithmetic') }),
};
