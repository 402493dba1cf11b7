import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { SCHEDULE_KINDS, type ScheduleKind } from '@patchwork/training';
import { parse as parseYaml } from 'yaml';

export const METHODS = ['full', 'lora', 'adalora', 'hut', 'lst', 'list', 'muscle'] as const;
export type Method = (typeof METHODS)[number];

export interface EarlyStoppingSettings {
  readonly patience: number;
  /** An evaluation metric, `eval_loss` or `eval_accuracy`. Default eval_loss. */
  readonly metric: string;
  readonly mode: 'min' | 'max';
  readonly threshold: number;
}

/** The `trainer:` section, transformers-style names. */
export interface TrainerSettings {
  readonly steps: number;
  readonly lr: number;
  readonly batchSize: number;
  /** Warmup steps (an integer) or a fraction of the steps (a number below 1). */
  readonly warmup: { readonly steps?: number; readonly ratio?: number };
  readonly schedule: ScheduleKind;
  readonly gradAccum: number;
  /** Global-norm clipping limit; 0 turns it off. */
  readonly clip: number;
  readonly weightDecay: number;
  readonly evalEvery: number;
  readonly evalBatchSize: number;
  readonly earlyStopping?: EarlyStoppingSettings;
  readonly checkpointEvery: number;
  readonly seed: number;
}

/** The `data:` section. */
export interface DataSettings {
  /** Token rows are cut to this length; default the model's position limit (at most 128). */
  readonly maxLength?: number;
  /** Few-shot: keep this many labelled training examples of each class (the rest is unlabelled data). */
  readonly labelsPerClass?: number;
  readonly maxTrainExamples?: number;
  readonly maxEvalExamples?: number;
  readonly maxTestExamples?: number;
}

export interface PromptSettings {
  readonly template: string;
  readonly labelWords: readonly string[];
}

/** A validated training config (`trainFromConfig`'s YAML or object). */
export interface RunConfig {
  readonly method: Method;
  /** A backbone name (built or cached under `dataDir`) or a model directory; `baseModelDir` overrides it. */
  readonly baseModel?: string;
  /** A task of @patchwork/datasets' registry. */
  readonly task: string;
  /** The method's own parameters (PEFT config keys for lora/adalora/hut; see the README for lst, list, muscle). */
  readonly parameters: Readonly<Record<string, unknown>>;
  /** `classifier` (the model's head) or `prompt` (template + label words through the LM head). */
  readonly head?: 'classifier' | 'prompt';
  readonly prompt?: PromptSettings;
  readonly data: DataSettings;
  readonly trainer: TrainerSettings;
}

const TOP = new Set(['method', 'base_model', 'task', 'parameters', 'head', 'prompt', 'data', 'trainer']);
const TRAINER = new Set(['steps', 'lr', 'batch_size', 'warmup', 'schedule', 'grad_accum', 'clip', 'weight_decay', 'eval_every', 'eval_batch_size', 'early_stopping', 'checkpoint_every', 'seed']);
const DATA = new Set(['max_length', 'labels_per_class', 'max_train_examples', 'max_eval_examples', 'max_test_examples']);
const EARLY = new Set(['patience', 'metric', 'mode', 'threshold']);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

function unknownKeys(obj: Record<string, unknown>, known: Set<string>, field: string, problems: ViolationCollector): void {
  for (const k of Object.keys(obj)) if (!known.has(k)) problems.add(field === '' ? k : `${field}.${k}`, `is not a known setting (known: ${[...known].join(', ')})`);
}

/** Accepts the method's spellings case-insensitively (`adaloRA`, `AdaLoRA`, `LoRA`). */
function readMethod(v: unknown, problems: ViolationCollector): Method {
  const name = typeof v === 'string' ? v.toLowerCase() : v;
  if (!(METHODS as readonly unknown[]).includes(name)) problems.add('method', `must be one of ${METHODS.join(', ')}, got ${JSON.stringify(v)}`);
  return name as Method;
}

function readTrainer(t: Record<string, unknown>, problems: ViolationCollector): TrainerSettings {
  unknownKeys(t, TRAINER, 'trainer', problems);
  const int = (key: string, fallback: number, min = 1): number => {
    const v = t[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) problems.add(`trainer.${key}`, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const num = (key: string, fallback: number, ok: (v: number) => boolean, what: string): number => {
    const v = t[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) problems.add(`trainer.${key}`, `must be ${what}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const steps = int('steps', 100);
  const lr = num('lr', 5e-5, (v) => v > 0, 'a positive number');
  const warmupRaw = t.warmup ?? 0;
  let warmup: TrainerSettings['warmup'] = { steps: 0 };
  if (typeof warmupRaw !== 'number' || !Number.isFinite(warmupRaw) || warmupRaw < 0) problems.add('trainer.warmup', `must be a step count or a fraction of the steps in [0, 1), got ${JSON.stringify(warmupRaw)}`);
  else if (warmupRaw > 0 && warmupRaw < 1) warmup = { ratio: warmupRaw };
  else if (!Number.isInteger(warmupRaw)) problems.add('trainer.warmup', `a step count must be an integer, got ${warmupRaw}`);
  else warmup = { steps: warmupRaw };
  const schedule = t.schedule ?? 'linear';
  if (!(SCHEDULE_KINDS as readonly unknown[]).includes(schedule)) problems.add('trainer.schedule', `must be one of ${SCHEDULE_KINDS.join(', ')}, got ${JSON.stringify(schedule)}`);
  let earlyStopping: EarlyStoppingSettings | undefined;
  const es = t.early_stopping;
  if (es !== undefined && es !== null && es !== false) {
    const e = typeof es === 'number' ? { patience: es } : es;
    if (!isRecord(e)) problems.add('trainer.early_stopping', 'must be a patience (integer) or {patience, metric, mode, threshold}');
    else {
      unknownKeys(e, EARLY, 'trainer.early_stopping', problems);
      const metric = e.metric ?? 'eval_loss';
      const mode = e.mode ?? (metric === 'eval_loss' ? 'min' : 'max');
      if (!isPositiveInt(e.patience)) problems.add('trainer.early_stopping.patience', `must be a positive integer, got ${JSON.stringify(e.patience)}`);
      if (metric !== 'eval_loss' && metric !== 'eval_accuracy') problems.add('trainer.early_stopping.metric', `must be eval_loss or eval_accuracy, got ${JSON.stringify(metric)}`);
      if (mode !== 'min' && mode !== 'max') problems.add('trainer.early_stopping.mode', `must be min or max, got ${JSON.stringify(mode)}`);
      const threshold = e.threshold ?? 0;
      if (typeof threshold !== 'number' || !(threshold >= 0)) problems.add('trainer.early_stopping.threshold', `must be a non-negative number, got ${JSON.stringify(threshold)}`);
      earlyStopping = { patience: e.patience as number, metric: metric as string, mode: mode as 'min' | 'max', threshold: threshold as number };
    }
  }
  return {
    steps,
    lr,
    batchSize: int('batch_size', 16),
    warmup,
    schedule: schedule as ScheduleKind,
    gradAccum: int('grad_accum', 1),
    clip: num('clip', 1, (v) => v >= 0, 'a non-negative number (0 turns clipping off)'),
    weightDecay: num('weight_decay', 0, (v) => v >= 0, 'a non-negative number'),
    evalEvery: int('eval_every', Math.max(1, steps)),
    evalBatchSize: int('eval_batch_size', 64),
    earlyStopping,
    checkpointEvery: int('checkpoint_every', Math.max(1, steps)),
    seed: int('seed', 42, 0),
  };
}

function readData(d: Record<string, unknown>, problems: ViolationCollector): DataSettings {
  unknownKeys(d, DATA, 'data', problems);
  const opt = (key: string, min: number): number | undefined => {
    const v = d[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) problems.add(`data.${key}`, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  return {
    maxLength: opt('max_length', 4),
    labelsPerClass: opt('labels_per_class', 1),
    maxTrainExamples: opt('max_train_examples', 1),
    maxEvalExamples: opt('max_eval_examples', 1),
    maxTestExamples: opt('max_test_examples', 1),
  };
}

/**
 * Parses and validates a training config given as YAML text or an object. Every problem is
 * reported at once in one INVALID_ARGUMENT naming each field; nothing else is touched.
 */
export function parseRunConfig(input: string | Record<string, unknown>): RunConfig {
  let raw: unknown = input;
  if (typeof input === 'string') {
    try {
      // A client's odd YAML must not write warnings to the server's stderr, outside its logs.
      raw = parseYaml(input, { logLevel: 'error' });
    } catch (e) {
      throw new PatchworkError('INVALID_ARGUMENT', `config is not valid YAML: ${(e as Error).message}`, { violations: [{ field: 'config', description: 'is not valid YAML' }] });
    }
  }
  if (!isRecord(raw)) throw new PatchworkError('INVALID_ARGUMENT', 'config must be a mapping', { violations: [{ field: 'config', description: 'must be a mapping' }] });
  const problems = new ViolationCollector();
  unknownKeys(raw, TOP, '', problems);
  const method = readMethod(raw.method, problems);
  if (typeof raw.task !== 'string' || raw.task === '') problems.add('task', 'must name a task of the datasets registry');
  if (raw.base_model !== undefined && (typeof raw.base_model !== 'string' || raw.base_model === '')) problems.add('base_model', 'must be a backbone name or a model directory');
  const parameters = raw.parameters ?? {};
  if (!isRecord(parameters)) problems.add('parameters', 'must be a mapping of the method parameters');
  const head = raw.head;
  if (head !== undefined && head !== 'classifier' && head !== 'prompt') problems.add('head', `must be classifier or prompt, got ${JSON.stringify(head)}`);
  let prompt: PromptSettings | undefined;
  if (raw.prompt !== undefined) {
    const p = raw.prompt;
    if (!isRecord(p)) problems.add('prompt', 'must be {template, label_words}');
    else {
      unknownKeys(p, new Set(['template', 'label_words']), 'prompt', problems);
      if (typeof p.template !== 'string') problems.add('prompt.template', 'must be a string holding {text} and {mask}');
      if (!Array.isArray(p.label_words) || p.label_words.some((w) => typeof w !== 'string')) problems.add('prompt.label_words', 'must be a list of words, one per label');
      prompt = { template: p.template as string, labelWords: p.label_words as string[] };
    }
  }
  if (head === 'prompt' && prompt === undefined) problems.add('prompt', 'is required with head: prompt');
  if (method === 'list' && prompt === undefined) problems.add('prompt', 'is required by LiST (prompt-based fine-tuning)');
  const data = raw.data ?? {};
  if (!isRecord(data)) problems.add('data', 'must be a mapping');
  const trainer = raw.trainer ?? {};
  if (!isRecord(trainer)) problems.add('trainer', 'must be a mapping');
  const dataSettings = isRecord(data) ? readData(data, problems) : {};
  const trainerSettings = isRecord(trainer) ? readTrainer(trainer, problems) : readTrainer({}, problems);
  problems.throwIfAny();
  return {
    method,
    baseModel: raw.base_model as string | undefined,
    task: raw.task as string,
    parameters: parameters as Record<string, unknown>,
    head: head as RunConfig['head'],
    prompt,
    data: dataSettings,
    trainer: trainerSettings,
  };
}
