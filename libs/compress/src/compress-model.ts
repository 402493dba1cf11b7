import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { type Model, loadModel } from '@patchwork/models';
import { Checkpoint, type DType, type tf } from '@patchwork/tensor';
import { defaultContextLength, flopsPerToken } from './cost/flops';
import type { DistillDataset } from './distill/dataset';
import { type DistillOptions, type DistillStepRecord, distill, resolveDistillWeights } from './distill/distill';
import { type DistillDataInfo, type NamedDataOptions, namedDistillDataset } from './distill/named-dataset';
import type { TermValues } from './distill/term-recorder';
import type { RandomizedSvdSettings, SvdMethod } from './factorize/factorize-matrix';
import { factorizeModel } from './factorize/factorize-model';
import { storedMatrix } from './factorize/matrix-view';
import { reconstructionError } from './factorize/reconstruction-error';
import type { SkippedModule } from './factorize/select-modules';
import type { LowRankModel } from './low-rank/low-rank-model';
import { assertUsableOutDir, saveLowRankModel } from './low-rank/save';

export interface CompressOptions {
  /** The dense Hugging Face model directory. */
  readonly modelDir: string;
  /** Must not exist or be empty; the low-rank model appears there whole or not at all. */
  readonly outDir: string;
  /** Exactly one of gamma (per-layer compression factor) and targetRatio (whole-model params after/before). */
  readonly gamma?: number;
  readonly targetRatio?: number;
  /** Default `exact`. */
  readonly svd?: SvdMethod;
  readonly randomized?: RandomizedSvdSettings;
  /** In randomized mode, also compute the Eckart–Young optimum per layer (as slow as exact mode). */
  readonly measureOptimal?: boolean;
  /** Module-name globs left dense; default DEFAULT_EXCLUDE (heads, pooler, patch embedding). */
  readonly exclude?: readonly string[];
  readonly minOutFeatures?: number;
  /** Intermediate pre-training after factorization (cancellation and progress come from here). */
  readonly distill?: CompressDistillOptions;
  /** Context length for the attention FLOPs; default the model's position limit (ViT: patches + 1). */
  readonly contextLength?: number;
  readonly maxShardBytes?: number;
  readonly onProgress?: (event: CompressProgress) => void;
  readonly signal?: AbortSignal;
}

export type CompressDistillOptions = Omit<DistillOptions, 'signal' | 'onProgress' | 'dataset'> & {
  /**
   * A prepared dataset, or the name of a corpus or task of @patchwork/datasets, prepared for this
   * model by `namedDistillDataset` (with `data`) and checked before any factorization.
   */
  readonly dataset: DistillDataset | string;
  readonly data?: NamedDataOptions;
};

export type CompressProgress =
  | { readonly phase: 'data'; readonly name: string }
  | { readonly phase: 'factorize'; readonly index: number; readonly total: number; readonly module: string; readonly rank: number; readonly relError: number }
  | { readonly phase: 'distill'; readonly step: number; readonly totalSteps: number; readonly loss: number; readonly lr: number; readonly etaSec: number; readonly terms: TermValues }
  | { readonly phase: 'save'; readonly outDir: string };

export interface CompressLayerReport {
  readonly module: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly rank: number;
  readonly relError: number;
  readonly optimalRelError: number | null;
  readonly maxAbsError: number;
  /** Present when distillation ran. */
  readonly relErrorAfterDistill?: number;
  readonly maxAbsErrorAfterDistill?: number;
}

export interface CompressDistillReport {
  /** The named set as prepared; null when the caller passed a dataset. */
  readonly data: DistillDataInfo | null;
  readonly steps: number;
  readonly resumedFromStep?: number;
  readonly weights: { readonly taskWeight: number; readonly alpha: number; readonly beta: number; readonly eps: number; readonly perturbationForm: string };
  /** Mean of each unweighted term (and the weighted total) over the first and the last 10% of steps. */
  readonly first: TermValues & { readonly total: number };
  readonly last: TermValues & { readonly total: number };
  readonly history: readonly DistillStepRecord[];
}

export interface CompressReport {
  readonly model_type: string;
  readonly gamma: number;
  readonly target_ratio: number | null;
  readonly svd: SvdMethod;
  readonly params_before: number;
  readonly params_after: number;
  readonly param_ratio: number;
  readonly flops_per_token_before: number;
  readonly flops_per_token_after: number;
  readonly context_length: number;
  readonly layers: readonly CompressLayerReport[];
  readonly skipped: readonly SkippedModule[];
  readonly distill: CompressDistillReport | null;
  readonly seconds: { readonly factorize: number; readonly distill: number; readonly save: number; readonly total: number };
  readonly out_dir: string;
  readonly files: readonly string[];
}

/** Each canonical parameter's dtype in the source checkpoint, so the output keeps it. */
async function sourceDtypes(dir: string, model: Model): Promise<Map<string, DType>> {
  const checkpoint = await Checkpoint.open(dir);
  try {
    const out = new Map<string, DType>();
    for (const name of checkpoint.names()) {
      const plain = name.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
      const key = [plain, model.architecture.basePrefix + plain].map((k) => model.canonicalKey(k)).find((k) => model.weights.has(k));
      if (key !== undefined && !out.has(key)) out.set(key, checkpoint.info(name).dtype);
    }
    return out;
  } finally {
    await checkpoint.close();
  }
}

function windowMean(history: readonly DistillStepRecord[], fromEnd: boolean): TermValues & { total: number } {
  const n = Math.max(1, Math.ceil(history.length / 10));
  const window = fromEnd ? history.slice(-n) : history.slice(0, n);
  const mean = (xs: (number | null)[]): number | null => {
    const ok = xs.filter((x): x is number => x !== null);
    return ok.length === 0 ? null : ok.reduce((a, b) => a + b, 0) / ok.length;
  };
  return {
    total: mean(window.map((r) => r.total)) ?? NaN,
    task: mean(window.map((r) => r.task)),
    featureDistill: mean(window.map((r) => r.featureDistill)),
    weightPerturbation: mean(window.map((r) => r.weightPerturbation)),
  };
}

/** ‖W − W_u·W_v‖ of every factored layer of `student` against the dense `teacher`. */
async function errorsAgainst(teacher: Model, student: LowRankModel): Promise<Map<string, { relative: number; maxAbs: number }>> {
  const out = new Map<string, { relative: number; maxAbs: number }>();
  for (const [module, f] of student.factors) {
    const weight = teacher.weights.get(f.spec.weightKey);
    if (weight === undefined) throw new PatchworkError('INTERNAL', `teacher lacks ${f.spec.weightKey}`);
    const m = storedMatrix(f.spec, weight);
    const { u, v } = student.storedFactors(module);
    try {
      const flatV = v.reshape([f.rank, -1]) as tf.Tensor2D;
      try {
        const e = await reconstructionError(m, u as tf.Tensor2D, flatV);
        out.set(module, { relative: e.relative, maxAbs: e.maxAbs });
      } finally {
        flatV.dispose();
      }
    } finally {
      u.dispose();
      v.dispose();
      if (m !== weight) m.dispose();
    }
  }
  return out;
}

/**
 * The whole PELA pipeline behind `patchwork compress` and `SubmitCompress`: load the dense model,
 * factor every eligible linear at gamma (or the gamma that meets targetRatio), optionally run the
 * intermediate pre-training against the dense teacher, and save the low-rank model in the Hugging
 * Face layout (config.json records the factorization; tokenizer and other files are copied).
 * Returns parameters and FLOPs per token before and after, and each layer's reconstruction error
 * (measured, next to the Eckart–Young optimum) before and after distillation.
 */
export async function compressModel(options: CompressOptions): Promise<CompressReport> {
  const started = performance.now();
  for (const key of ['modelDir', 'outDir'] as const) {
    if (typeof options[key] !== 'string' || options[key] === '') throw invalidArgument(key, 'is required');
  }
  if (options.contextLength !== undefined && (!Number.isSafeInteger(options.contextLength) || options.contextLength < 1)) {
    throw invalidArgument('contextLength', `must be a positive integer, got ${String(options.contextLength)}`);
  }
  await assertUsableOutDir(options.outDir);
  const teacher = await loadModel(options.modelDir);
  let lowRank: LowRankModel | undefined;
  let named: Awaited<ReturnType<typeof namedDistillDataset>> | undefined;
  try {
    // Data and settings are checked before the factorization, which may take minutes.
    let dataset: DistillDataset | undefined;
    if (options.distill !== undefined) {
      const given = options.distill.dataset;
      if (typeof given === 'string') {
        options.onProgress?.({ phase: 'data', name: given });
        named = await namedDistillDataset(given, options.modelDir, teacher.config, options.distill.data);
      }
      dataset = named ?? (given as DistillDataset);
      const weights = resolveDistillWeights({ ...options.distill, dataset });
      if (named?.info.taskTerm === 'none' && weights.alpha === 0 && weights.beta === 0) {
        throw invalidArgument('distill', `${named.info.name} gives this model no task loss, and alpha and beta are 0: nothing to train`);
      }
    }
    const factorized = await factorizeModel(teacher, {
      gamma: options.gamma,
      targetRatio: options.targetRatio,
      exclude: options.exclude,
      minOutFeatures: options.minOutFeatures,
      svd: options.svd,
      randomized: options.randomized,
      measureOptimal: options.measureOptimal,
      signal: options.signal,
      onLayer: (p) => options.onProgress?.({ phase: 'factorize', ...p }),
    });
    lowRank = factorized.lowRank;
    const { plan } = factorized;
    const factorizeSeconds = (performance.now() - started) / 1000;
    if (lowRank.parameterCount() !== plan.paramsAfter) {
      throw new PatchworkError('INTERNAL', `low-rank model holds ${lowRank.parameterCount()} parameters, the plan says ${plan.paramsAfter}`);
    }

    let distillReport: CompressDistillReport | null = null;
    let after: Map<string, { relative: number; maxAbs: number }> | undefined;
    const distillStarted = performance.now();
    if (options.distill !== undefined && dataset !== undefined) {
      const result = await distill(teacher, lowRank, {
        ...options.distill,
        dataset,
        signal: options.signal,
        onProgress: (p) => options.onProgress?.({ phase: 'distill', step: p.step, totalSteps: p.totalSteps, loss: p.loss, lr: p.lr, etaSec: p.etaSec, terms: p.terms }),
      });
      lowRank.dispose();
      lowRank = result.student;
      after = await errorsAgainst(teacher, lowRank);
      distillReport = {
        data: named?.info ?? null,
        steps: result.steps,
        resumedFromStep: result.resumedFromStep,
        weights: result.weights,
        first: windowMean(result.history, false),
        last: windowMean(result.history, true),
        history: result.history,
      };
    }
    const distillSeconds = (performance.now() - distillStarted) / 1000;

    const saveStarted = performance.now();
    options.onProgress?.({ phase: 'save', outDir: options.outDir });
    const saved = await saveLowRankModel(lowRank, options.outDir, {
      maxShardBytes: options.maxShardBytes,
      dtypes: await sourceDtypes(options.modelDir, teacher),
      copyFilesFrom: options.modelDir,
    });
    const saveSeconds = (performance.now() - saveStarted) / 1000;

    const contextLength = options.contextLength ?? defaultContextLength(teacher.config, teacher.modelType);
    const shape = { numLayers: teacher.numLayers, hiddenSize: teacher.hiddenSize };
    const ranks = new Map(plan.layers.map((l) => [l.module, l.rank]));
    const flopsBefore = flopsPerToken(teacher.linears, new Map(), shape, contextLength);
    const flopsAfter = flopsPerToken(teacher.linears, ranks, shape, contextLength);
    const layers = factorized.layers.map((l): CompressLayerReport => {
      const e = after?.get(l.module);
      const base = { module: l.module, inFeatures: l.inFeatures, outFeatures: l.outFeatures, rank: l.rank, relError: l.relError, optimalRelError: l.optimalRelError, maxAbsError: l.maxAbsError };
      return e === undefined ? base : { ...base, relErrorAfterDistill: e.relative, maxAbsErrorAfterDistill: e.maxAbs };
    });
    return {
      model_type: teacher.modelType,
      gamma: plan.gamma,
      target_ratio: plan.targetRatio,
      svd: options.svd ?? 'exact',
      params_before: plan.paramsBefore,
      params_after: plan.paramsAfter,
      param_ratio: plan.paramsAfter / plan.paramsBefore,
      flops_per_token_before: flopsBefore.total,
      flops_per_token_after: flopsAfter.total,
      context_length: contextLength,
      layers,
      skipped: plan.skipped,
      distill: distillReport,
      seconds: { factorize: factorizeSeconds, distill: distillSeconds, save: saveSeconds, total: (performance.now() - started) / 1000 },
      out_dir: saved.dir,
      files: saved.files,
    };
  } catch (e) {
    throw PatchworkError.from(e);
  } finally {
    named?.dispose();
    lowRank?.dispose();
    teacher.dispose();
  }
}
