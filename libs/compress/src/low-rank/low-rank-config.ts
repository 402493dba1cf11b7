import { type FieldViolation, PatchworkError } from '@patchwork/errors';
import { SVD_METHODS, type SvdMethod } from '../factorize/factorize-matrix';

/**
 * The key in config.json that marks a low-rank model and records its factorization:
 *
 * ```json
 * "patchwork_low_rank": {
 *   "format_version": 1,
 *   "method": "pela",
 *   "gamma": 2,
 *   "target_ratio": null,
 *   "svd": "exact",
 *   "distillation": { "steps": 200, "alpha": 1, "beta": 1, "eps": 0.001, "task_weight": 1 },
 *   "modules": { "transformer.h.0.attn.c_attn": 24, "...": 0 }
 * }
 * ```
 *
 * Each module listed is stored as two tensors instead of `<module>.weight`:
 * `<module>.weight_u` `[shape[0], r]` and `<module>.weight_v` `[r, ...shape[1:]]`, in the
 * weight's own layout, with `weight ≈ (weight_u @ weight_v.reshape(r, -1)).reshape(shape)`
 * (`[out, in]` for nn.Linear, `[in, out]` for GPT-2's Conv1D). `<module>.bias` is unchanged.
 * `distillation` is null when the model was factored only.
 */
export const LOW_RANK_CONFIG_KEY = 'patchwork_low_rank';
export const LOW_RANK_FORMAT_VERSION = 1;
export const FACTOR_U_SUFFIX = '.weight_u';
export const FACTOR_V_SUFFIX = '.weight_v';

export interface DistillationRecord {
  readonly steps: number;
  readonly alpha: number;
  readonly beta: number;
  readonly eps: number;
  readonly taskWeight: number;
}

/** How a low-rank model was made (everything in the config entry except the ranks). */
export interface LowRankSettings {
  readonly gamma: number;
  readonly targetRatio: number | null;
  readonly svd: SvdMethod;
  readonly distillation: DistillationRecord | null;
}

export interface LowRankConfig extends LowRankSettings {
  /** Rank of each factored module, by module name. */
  readonly modules: ReadonlyMap<string, number>;
}

export function lowRankConfigToJson(config: LowRankConfig): Record<string, unknown> {
  const d = config.distillation;
  return {
    format_version: LOW_RANK_FORMAT_VERSION,
    method: 'pela',
    gamma: config.gamma,
    target_ratio: config.targetRatio,
    svd: config.svd,
    distillation: d === null ? null : { steps: d.steps, alpha: d.alpha, beta: d.beta, eps: d.eps, task_weight: d.taskWeight },
    modules: Object.fromEntries(config.modules),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const finiteNonNegative = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

type Problems = FieldViolation[];

const violation = (field: string, description: string): FieldViolation => ({ field, description });

function parseDistillation(raw: unknown, field: string, problems: Problems): DistillationRecord | null {
  if (raw === null || raw === undefined) return null;
  if (!isObject(raw)) {
    problems.push(violation(field, 'must be an object or null'));
    return null;
  }
  const read = (key: string, check: (v: unknown) => boolean, what: string): number => {
    const v = raw[key];
    if (!check(v)) problems.push(violation(`${field}.${key}`, `must be ${what}, got ${JSON.stringify(v)}`));
    return v as number;
  };
  return {
    steps: read('steps', (v) => Number.isSafeInteger(v) && (v as number) >= 0, 'a non-negative integer'),
    alpha: read('alpha', finiteNonNegative, 'a finite number >= 0'),
    beta: read('beta', finiteNonNegative, 'a finite number >= 0'),
    eps: read('eps', finiteNonNegative, 'a finite number >= 0'),
    taskWeight: read('task_weight', finiteNonNegative, 'a finite number >= 0'),
  };
}

/** Parses and validates the config entry; INVALID_ARGUMENT lists every problem, prefixed with `where`. */
export function parseLowRankConfig(raw: unknown, where: string): LowRankConfig {
  const field = LOW_RANK_CONFIG_KEY;
  if (!isObject(raw)) throw new PatchworkError('INVALID_ARGUMENT', `${where}: ${field} must be an object`, { violations: [{ field, description: 'must be an object' }] });
  const problems: Problems = [];
  if (raw.format_version !== LOW_RANK_FORMAT_VERSION) {
    problems.push(violation(`${field}.format_version`, `must be ${LOW_RANK_FORMAT_VERSION} (this reader's format), got ${JSON.stringify(raw.format_version)}`));
  }
  if (raw.method !== 'pela') problems.push(violation(`${field}.method`, `must be "pela", got ${JSON.stringify(raw.method)}`));
  const gamma = raw.gamma;
  if (typeof gamma !== 'number' || !Number.isFinite(gamma) || gamma <= 0) problems.push(violation(`${field}.gamma`, `must be a finite number > 0, got ${JSON.stringify(gamma)}`));
  const targetRatio = raw.target_ratio ?? null;
  if (targetRatio !== null && !(typeof targetRatio === 'number' && targetRatio > 0 && targetRatio <= 1)) {
    problems.push(violation(`${field}.target_ratio`, `must be null or a number in (0, 1], got ${JSON.stringify(targetRatio)}`));
  }
  const svd = raw.svd;
  if (!SVD_METHODS.includes(svd as SvdMethod)) problems.push(violation(`${field}.svd`, `must be one of ${SVD_METHODS.join(', ')}, got ${JSON.stringify(svd)}`));
  const distillation = parseDistillation(raw.distillation, `${field}.distillation`, problems);
  const modules = new Map<string, number>();
  if (!isObject(raw.modules) || Object.keys(raw.modules).length === 0) {
    problems.push(violation(`${field}.modules`, 'must be a non-empty object of module name -> rank'));
  } else {
    for (const [module, rank] of Object.entries(raw.modules)) {
      if (!Number.isSafeInteger(rank) || (rank as number) < 1) problems.push(violation(`${field}.modules.${module}`, `must be a positive integer rank, got ${JSON.stringify(rank)}`));
      else modules.set(module, rank as number);
    }
  }
  if (problems.length > 0) {
    const summary = problems.map((p) => `${p.field}: ${p.description}`).join('; ');
    throw new PatchworkError('INVALID_ARGUMENT', `${where}: ${summary}`, { violations: problems });
  }
  return { gamma: gamma as number, targetRatio: targetRatio as number | null, svd: svd as SvdMethod, distillation, modules };
}
