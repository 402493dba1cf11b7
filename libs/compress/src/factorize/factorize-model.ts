import { PatchworkError } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { LowRankModel, type StoredFactorInput } from '../low-rank/low-rank-model';
import { type RandomizedSvdSettings, type SvdMethod, factorizeMatrix } from './factorize-matrix';
import { storedFactorShapes, storedMatrix } from './matrix-view';
import { type FactorizationPlan, type PlanOptions, planFactorization } from './plan';

export interface LayerProgress {
  /** 1-based index of the layer just factored. */
  readonly index: number;
  readonly total: number;
  readonly module: string;
  readonly rank: number;
  readonly relError: number;
}

export type FactorizeModelOptions = PlanOptions & {
  /** Default `exact`. */
  readonly svd?: SvdMethod;
  readonly randomized?: RandomizedSvdSettings;
  /** In randomized mode, also compute each layer's Eckart–Young optimum (runs an exact SVD too). */
  readonly measureOptimal?: boolean;
  readonly onLayer?: (progress: LayerProgress) => void;
  readonly signal?: AbortSignal;
};

export interface LayerFactorization {
  readonly module: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly rank: number;
  /** ‖W − W_u·W_v‖_F / ‖W‖_F of the stored float32 factors. */
  readonly relError: number;
  /** The Eckart–Young optimum for this rank; null when not computed (randomized without measureOptimal). */
  readonly optimalRelError: number | null;
  /** max |W − W_u·W_v|. */
  readonly maxAbsError: number;
  readonly seconds: number;
}

export interface FactorizeModelResult {
  /** The caller owns it (and the dense model stays the caller's too). */
  readonly lowRank: LowRankModel;
  readonly plan: FactorizationPlan;
  readonly layers: readonly LayerFactorization[];
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * PELA's factorization of a dense model: each eligible projection W (a x b) becomes the pair of its
 * rank-r truncated SVD with √σ on each side, r = floor(a·b / (gamma·(a + b))), and every other
 * parameter is copied. Each layer's reconstruction error is measured on the float32 factors; with
 * the exact SVD it equals the Eckart–Young optimum up to float32 rounding. Layers run one at a
 * time, so peak memory is the model plus one layer's SVD workspace.
 */
export async function factorizeModel(model: Model, options: FactorizeModelOptions): Promise<FactorizeModelResult> {
  const plan = planFactorization(model, options);
  if (plan.layers.length === 0) {
    throw new PatchworkError('FAILED_PRECONDITION', `no linear layer of this ${model.modelType} model is eligible for factorization (skipped: ${plan.skipped.map((s) => `${s.module} (${s.reason})`).join(', ')})`);
  }
  const svd = options.svd ?? 'exact';
  const factors = new Map<string, StoredFactorInput>();
  const layers: LayerFactorization[] = [];
  try {
    for (const [i, layer] of plan.layers.entries()) {
      await yieldToEventLoop();
      if (options.signal?.aborted) throw new PatchworkError('CANCELLED', 'factorization cancelled', { cause: options.signal.reason });
      const started = performance.now();
      const { spec, rank } = layer;
      const weight = model.weights.get(spec.weightKey) as tf.Tensor;
      const matrix = storedMatrix(spec, weight);
      let result;
      try {
        result = await factorizeMatrix(matrix, { rank, svd, randomized: options.randomized, measureOptimal: options.measureOptimal, signal: options.signal });
      } finally {
        if (matrix !== weight) matrix.dispose();
      }
      const v = tf.reshape(result.v, storedFactorShapes(weight.shape, rank).v);
      result.v.dispose();
      factors.set(spec.module, { u: result.u, v });
      const report: LayerFactorization = {
        module: spec.module,
        inFeatures: spec.inFeatures,
        outFeatures: spec.outFeatures,
        rank,
        relError: result.error.relative,
        optimalRelError: result.optimalRelError,
        maxAbsError: result.error.maxAbs,
        seconds: (performance.now() - started) / 1000,
      };
      layers.push(report);
      options.onLayer?.({ index: i + 1, total: plan.layers.length, module: spec.module, rank, relError: report.relError });
    }
  } catch (e) {
    tf.dispose([...factors.values()].flatMap((f) => [f.u, f.v]));
    throw PatchworkError.from(e);
  }
  const factored = new Set(plan.layers.map((l) => l.spec.weightKey));
  const params = new Map<string, tf.Tensor>();
  for (const [key, t] of model.weights) if (!factored.has(key)) params.set(key, tf.clone(t));
  const lowRank = LowRankModel.assemble(model.config, params, factors, { gamma: plan.gamma, targetRatio: plan.targetRatio, svd, distillation: null });
  return { lowRank, plan, layers };
}
