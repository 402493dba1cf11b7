import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { Model } from '@patchwork/models';

/** LiST's parameters (`parameters:` of a `method: list` config). */
export interface ListConfig {
  /** The LoRA adapter every model of the loop trains (its only tuned parameters). */
  readonly lora: Readonly<Record<string, unknown>>;
  /** Prompt fine-tuning steps of the first teacher on the labelled examples. */
  readonly teacherSteps: number;
  /** Teacher-student sessions (the paper runs 6). */
  readonly sessions: number;
  /** Phase A of a session: steps of the fresh student on the teacher's soft labels. */
  readonly selfTrainingSteps: number;
  readonly selfTrainingLr: number;
  /** Phase B: steps of the student on the labelled examples. */
  readonly finetuneSteps: number;
  readonly unlabeledBatchSize: number;
  /** Labelled examples per meta re-weighting step. */
  readonly metaBatchSize: number;
  /** Fraction of phase A with uniform weights 1/B before meta re-weighting starts (the paper's 60%). */
  readonly metaWarmup: number;
  /** Finite-difference step of the meta gradient, relative to max(1, ‖θ‖). */
  readonly metaStep: number;
  /** Unlabelled pool size (the training examples left after the few-shot draw). */
  readonly maxUnlabeled: number;
}

const KNOWN = new Set(['lora', 'teacher_steps', 'sessions', 'self_training_steps', 'self_training_lr', 'finetune_steps', 'unlabeled_batch_size', 'meta_batch_size', 'meta_warmup', 'meta_step', 'max_unlabeled']);

/** LiST inserts its adapters after the output projections of attention and of the feed-forward block. */
export function listTargets(model: Model): string[] {
  switch (model.modelType) {
    case 'gpt2':
      return ['attn.c_proj', 'mlp.c_proj'];
    case 'bert':
    case 'roberta':
      return ['output.dense'];
    default:
      throw new PatchworkError('INVALID_ARGUMENT', `LiST needs a masked or causal language model, the base model is ${model.modelType}`);
  }
}

export const DEFAULT_MAX_UNLABELED = 1024;

export function parseListConfig(p: Readonly<Record<string, unknown>>, trainer: { steps: number; lr: number }, model: Model): ListConfig {
  const problems = new ViolationCollector();
  for (const k of Object.keys(p)) if (!KNOWN.has(k)) problems.add(`parameters.${k}`, `is not a LiST parameter (known: ${[...KNOWN].join(', ')})`);
  const int = (key: string, fallback: number, min: number): number => {
    const v = p[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) problems.add(`parameters.${key}`, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const num = (key: string, fallback: number, ok: (v: number) => boolean, what: string): number => {
    const v = p[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) problems.add(`parameters.${key}`, `must be ${what}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const lora = p.lora ?? {};
  if (typeof lora !== 'object' || lora === null || Array.isArray(lora)) problems.add('parameters.lora', 'must be a LoRA config mapping');
  const config: ListConfig = {
    lora: { r: 8, lora_alpha: 16, lora_dropout: 0, target_modules: listTargets(model), ...(lora as Record<string, unknown>) },
    teacherSteps: int('teacher_steps', trainer.steps, 1),
    sessions: int('sessions', 2, 1),
    selfTrainingSteps: int('self_training_steps', trainer.steps, 1),
    selfTrainingLr: num('self_training_lr', trainer.lr, (v) => v > 0, 'a positive number'),
    finetuneSteps: int('finetune_steps', trainer.steps, 1),
    unlabeledBatchSize: int('unlabeled_batch_size', 16, 1),
    metaBatchSize: int('meta_batch_size', 4, 1),
    metaWarmup: num('meta_warmup', 0.6, (v) => v >= 0 && v <= 1, 'in [0, 1]'),
    metaStep: num('meta_step', 1e-3, (v) => v > 0, 'a positive number'),
    maxUnlabeled: int('max_unlabeled', DEFAULT_MAX_UNLABELED, 1),
  };
  problems.throwIfAny();
  return config;
}
