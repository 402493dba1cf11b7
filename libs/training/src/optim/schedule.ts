import { ViolationCollector } from '@patchwork/errors';

export type ScheduleKind = 'constant' | 'constant_with_warmup' | 'linear' | 'cosine';

export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['constant', 'constant_with_warmup', 'linear', 'cosine'];

export interface ScheduleOptions {
  readonly kind: ScheduleKind;
  /** Optimizer steps of linear warmup from 0. Takes precedence over `warmupRatio`. */
  readonly warmupSteps?: number;
  /** Warmup as a fraction of the total steps, rounded up (transformers' `warmup_ratio`). */
  readonly warmupRatio?: number;
}

/** A schedule bound to a run length: the learning-rate multiplier for each optimizer step. */
export interface LrSchedule {
  readonly kind: ScheduleKind;
  readonly warmupSteps: number;
  readonly totalSteps: number;
  /** The multiplier applied to the base rate by the optimizer step with 0-based index `step`. */
  multiplier(step: number): number;
}

/** Validates schedule options; each problem is reported under `${field}.<name>`. */
export function checkScheduleOptions(options: ScheduleOptions, field: string, problems: ViolationCollector): void {
  if (!SCHEDULE_KINDS.includes(options.kind)) problems.add(`${field}.kind`, `must be one of ${SCHEDULE_KINDS.join(', ')}, got ${JSON.stringify(options.kind)}`);
  if (options.warmupSteps !== undefined && (!Number.isInteger(options.warmupSteps) || options.warmupSteps < 0)) {
    problems.add(`${field}.warmupSteps`, `must be a non-negative integer, got ${options.warmupSteps}`);
  }
  if (options.warmupRatio !== undefined && !(options.warmupRatio >= 0 && options.warmupRatio <= 1)) {
    problems.add(`${field}.warmupRatio`, `must be in [0, 1], got ${options.warmupRatio}`);
  }
}

/**
 * transformers' `get_scheduler` multipliers (`LambdaLR` lambdas) for a run of `totalSteps`
 * optimizer steps, warmup W (= warmupSteps if > 0, else ceil(warmupRatio * T)):
 * - warmup: t / max(1, W) for t < W (so the very first step runs at rate 0 when W > 0, as there);
 * - linear: max(0, (T - t) / max(1, T - W));
 * - cosine (half a cycle): max(0, 0.5 * (1 + cos(pi * (t - W) / max(1, T - W))));
 * - constant: 1 throughout, constant_with_warmup: 1 after warmup.
 */
export function lrSchedule(options: ScheduleOptions, totalSteps: number): LrSchedule {
  const problems = new ViolationCollector();
  checkScheduleOptions(options, 'schedule', problems);
  if (!Number.isInteger(totalSteps) || totalSteps < 1) problems.add('totalSteps', `must be a positive integer, got ${totalSteps}`);
  problems.throwIfAny();
  const { kind } = options;
  const warmupSteps = kind === 'constant' ? 0 : options.warmupSteps && options.warmupSteps > 0 ? options.warmupSteps : Math.ceil((options.warmupRatio ?? 0) * totalSteps);
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const multiplier = (step: number): number => {
    if (kind === 'constant') return 1;
    if (step < warmupSteps) return step / Math.max(1, warmupSteps);
    if (kind === 'constant_with_warmup') return 1;
    if (kind === 'linear') return Math.max(0, (totalSteps - step) / decaySteps);
    const progress = (step - warmupSteps) / decaySteps;
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
  };
  return { kind, warmupSteps, totalSteps, multiplier };
}
