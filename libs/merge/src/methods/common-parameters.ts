import { ChoiceParameterSpec, NumberParameterSpec, boolean01, finite, fraction, integer, nonNegative } from './merge-method';

/** Parameter specs shared by the task-vector methods, with mergekit's names and meanings. */
export const weightSpec: NumberParameterSpec = { name: 'weight', scope: 'model', check: finite, description: "scale of this model's task vector" };

export const densitySpec: NumberParameterSpec = {
  name: 'density',
  scope: 'model',
  default: 1,
  check: fraction,
  description: 'fraction of the task vector kept (1 keeps everything)',
};

export const lambdaSpec: NumberParameterSpec = { name: 'lambda', scope: 'global', default: 1, check: finite, description: 'scale of the merged task vector' };

export const normalizeSpec = (defaultValue: 0 | 1): NumberParameterSpec => ({
  name: 'normalize',
  scope: 'global',
  default: defaultValue,
  check: boolean01,
  description: 'divide by the sum of the (agreeing) weights',
});

export const rescaleSpec = (defaultValue: 0 | 1): NumberParameterSpec => ({
  name: 'rescale',
  scope: 'global',
  default: defaultValue,
  check: boolean01,
  description: 'rescale the kept values of each sparsified task vector',
});

export const rescaleMethodSpec: ChoiceParameterSpec = {
  name: 'rescale_method',
  type: 'choice',
  scope: 'global',
  choices: ['l1', 'inverse'],
  default: 'l1',
  description: 'l1: match the L1 norm of the task vector (mergekit now); inverse: divide by the keep probability (the DARE/DELLA papers, mergekit <= 0.1.0)',
};

export const seedSpec: NumberParameterSpec = {
  name: 'seed',
  scope: 'global',
  default: 0,
  check: integer,
  description: 'seed of the random masks (with the tensor name and model index)',
};

export const int8MaskSpec: NumberParameterSpec = {
  name: 'int8_mask',
  scope: 'global',
  default: 0,
  check: boolean01,
  description: "accepted for mergekit recipes; a memory option there, masks are never materialised here",
};

export const majoritySignSpec: ChoiceParameterSpec = {
  name: 'majority_sign_method',
  type: 'choice',
  scope: 'global',
  choices: ['total', 'frequency'],
  default: 'total',
  description: 'elect the sign of the summed values (total) or of the count of signs (frequency)',
};

export const gammaSpec: NumberParameterSpec = {
  name: 'gamma',
  scope: 'model',
  default: 0.01,
  check: fraction,
  description: 'fraction of the largest magnitudes dropped as outliers',
};

export const epsilonSpec: NumberParameterSpec = {
  name: 'epsilon',
  scope: 'model',
  default: 0.15,
  check: nonNegative,
  description: 'spread of the keep probabilities around density (keep probability density ± epsilon by magnitude rank)',
};

export const semanticsSpec = (choices: readonly string[]): ChoiceParameterSpec => ({
  name: 'semantics',
  type: 'choice',
  scope: 'global',
  choices,
  default: 'mergekit',
  description: `whose definition to follow: ${choices.join(', ')}`,
});

/** Problems for parameters set explicitly that the chosen semantics never reads. */
export function unusedUnder(semantics: string, names: readonly string[], given: ReadonlySet<string> | undefined): string[] {
  return names.filter((n) => given?.has(n)).map((n) => `${n} has no meaning under semantics: ${semantics}`);
}
