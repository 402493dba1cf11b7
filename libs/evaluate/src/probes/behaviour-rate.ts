import { PatchworkError } from '@patchwork/errors';
import { argmax } from '../stats/argmax';
import type { EvaluableModel } from '../runner/evaluable';
import { type PoolOptions, type ProbeInputs, pooledHiddenStates } from './pool';
import { type BehaviourProbe, checkProbe, classIndex } from './probe';
import { linearScores } from './softmax-regression';

export interface BehaviourRateOptions extends Omit<PoolOptions, 'model' | 'inputs' | 'layer' | 'pooling'> {
  /** The behaviour whose rate is reported (index or class name). Default 1, Model Surgery's undesired row. */
  readonly targetClass?: number | string;
}

export interface BehaviourRate {
  readonly target_class: string;
  /** Share of inputs the probe assigns to the target class (first argmax). */
  readonly rate: number;
  /** Mean softmax probability of the target class. */
  readonly mean_probability: number;
  readonly predictions: Int32Array;
  readonly probabilities: Float64Array;
}

/**
 * How often a model's hidden states show a behaviour, as judged by a trained probe: the inputs
 * are pooled at the probe's layer with the probe's pooling and classified.
 */
export function behaviourRate(model: EvaluableModel, inputs: ProbeInputs, probe: BehaviourProbe, options: BehaviourRateOptions = {}): BehaviourRate {
  checkProbe(probe);
  if (model.hiddenSize !== probe.hiddenSize) {
    throw new PatchworkError('FAILED_PRECONDITION', `the probe reads ${probe.hiddenSize}-wide hidden states; this model's are ${model.hiddenSize}`);
  }
  const target = classIndex(probe, options.targetClass ?? 1);
  const pooled = pooledHiddenStates({ ...options, model, inputs, layer: probe.layer, pooling: probe.pooling });
  const c = probe.classes.length;
  const scores = linearScores(probe.weight, probe.bias, pooled.features, pooled.n, pooled.dim);
  const predictions = new Int32Array(pooled.n);
  const probabilities = new Float64Array(pooled.n);
  let hits = 0;
  let sumP = 0;
  for (let i = 0; i < pooled.n; i++) {
    const row = scores.subarray(i * c, (i + 1) * c);
    predictions[i] = argmax(row);
    const max = Math.max(...row);
    let sum = 0;
    for (const s of row) sum += Math.exp(s - max);
    probabilities[i] = Math.exp(row[target] - max) / sum;
    if (predictions[i] === target) hits++;
    sumP += probabilities[i];
  }
  return { target_class: probe.classes[target], rate: hits / pooled.n, mean_probability: sumP / pooled.n, predictions, probabilities };
}
