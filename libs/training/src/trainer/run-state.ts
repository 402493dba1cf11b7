import { PatchworkError } from '@patchwork/errors';
import type { DataCursor } from './data-order';
import type { EarlyStoppingState } from './early-stopping';
import type { Metrics, NormalizedTrainOptions } from './options';

export const STATE_FORMAT = 'patchwork.trainer-checkpoint';
export const STATE_VERSION = 1;

export interface StepRecord {
  readonly step: number;
  readonly loss: number;
  readonly lr: number;
  readonly gradNorm: number;
}

export interface EvalRecord {
  readonly step: number;
  readonly metrics: Metrics;
}

/** Everything about a run that must be equal for a checkpoint to continue it bit-identically. */
export type RunRecipe = Readonly<Record<string, unknown>>;

/** The JSON part of a checkpoint (`trainer_state.json`). */
export interface TrainerState {
  readonly format: typeof STATE_FORMAT;
  readonly version: typeof STATE_VERSION;
  /** Optimizer steps completed. */
  readonly step: number;
  readonly cursor: DataCursor;
  readonly batchRng: readonly number[];
  /** AdamW's per-parameter step counts (torch keeps one per parameter). */
  readonly optimizerSteps: Readonly<Record<string, number>>;
  readonly earlyStopping?: EarlyStoppingState;
  readonly lossHistory: readonly StepRecord[];
  readonly evalHistory: readonly EvalRecord[];
  /** Training wall time accumulated over every session of the run. */
  readonly trainSeconds: number;
  readonly recipe: RunRecipe;
}

/** The recipe of a run: parameter names and shapes, data, batch, optimizer, schedule and seed. */
export function recipeOf(o: NormalizedTrainOptions, warmupSteps: number, decayed: readonly string[]): RunRecipe {
  return {
    params: [...o.params].map(([name, v]) => [name, [...v.shape]]),
    decayed: [...decayed],
    examples: o.examples,
    batchSize: o.batchSize,
    gradientAccumulationSteps: o.gradientAccumulationSteps,
    totalSteps: o.totalSteps,
    seed: o.seed,
    optimizer: { lr: o.optimizer.lr, beta1: o.optimizer.beta1 ?? null, beta2: o.optimizer.beta2 ?? null, eps: o.optimizer.eps ?? null, weightDecay: o.optimizer.weightDecay ?? null },
    schedule: { kind: o.schedule.kind, warmupSteps },
    maxGradNorm: o.maxGradNorm,
    evaluationEvery: o.evaluation?.every ?? null,
    earlyStopping: o.earlyStopping === undefined ? null : { ...o.earlyStopping },
  };
}

/** Fails with FAILED_PRECONDITION naming each recipe field that differs from the checkpoint's. */
export function assertSameRecipe(saved: RunRecipe, current: RunRecipe, path: string): void {
  const keys = new Set([...Object.keys(saved), ...Object.keys(current)]);
  const differing = [...keys].filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(current[k]));
  if (differing.length > 0) {
    throw new PatchworkError('FAILED_PRECONDITION', `checkpoint ${path} belongs to a different run: ${differing.join(', ')} differ (start over with checkpoint.resume = false, or use another directory)`, {
      violations: differing.map((k) => ({ field: `checkpoint.recipe.${k}`, description: `was ${JSON.stringify(saved[k])}, now ${JSON.stringify(current[k])}` })),
    });
  }
}

/** Structural check of a parsed `trainer_state.json`; anything off is DATA_LOSS. */
export function parseTrainerState(value: unknown, path: string): TrainerState {
  const v = value as Partial<TrainerState> | null;
  const bad = (what: string) => new PatchworkError('DATA_LOSS', `checkpoint state in ${path} is invalid: ${what}`);
  if (typeof v !== 'object' || v === null) throw bad('not a JSON object');
  if (v.format !== STATE_FORMAT) throw bad(`format is ${JSON.stringify(v.format)}, expected ${STATE_FORMAT}`);
  if (v.version !== STATE_VERSION) throw bad(`version ${JSON.stringify(v.version)} is not supported (expected ${STATE_VERSION})`);
  if (!Number.isInteger(v.step) || (v.step as number) < 0) throw bad('step');
  if (typeof v.cursor !== 'object' || v.cursor === null || !Number.isInteger(v.cursor.epoch) || !Number.isInteger(v.cursor.offset)) throw bad('cursor');
  if (!Array.isArray(v.batchRng) || v.batchRng.length !== 4) throw bad('batchRng');
  if (typeof v.optimizerSteps !== 'object' || v.optimizerSteps === null) throw bad('optimizerSteps');
  if (!Array.isArray(v.lossHistory) || !Array.isArray(v.evalHistory)) throw bad('histories');
  if (typeof v.trainSeconds !== 'number') throw bad('trainSeconds');
  if (typeof v.recipe !== 'object' || v.recipe === null) throw bad('recipe');
  return v as TrainerState;
}
