import { CORPUS_NAMES, type CorpusName, type TaskDefinition, getTask, loadDigits } from '@patchwork/datasets';
import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { type RawConfig, architectureFor } from '@patchwork/models';

/** Where a named intermediate pre-training set comes from: a text corpus or a task of @patchwork/datasets. */
export type DistillSource = { readonly kind: 'corpus'; readonly name: CorpusName } | { readonly kind: 'task'; readonly name: string; readonly task: TaskDefinition };

/** What the task term of the objective will be on this data for this model. */
export type TaskTermKind = 'lm' | 'classification' | 'none';

/**
 * The source behind `name`: a corpus (`moby-dick`, `sotu`, `spam-ham`) or a single task
 * (`listTasks()`: `digits`, `spam`, ...). Anything else is INVALID_ARGUMENT on `field`.
 */
export function distillSource(name: string, field = 'distill.dataset'): DistillSource {
  if (typeof name !== 'string' || name === '') throw invalidArgument(field, 'is required');
  if ((CORPUS_NAMES as readonly string[]).includes(name)) return { kind: 'corpus', name: name as CorpusName };
  let task;
  try {
    task = getTask(name);
  } catch {
    throw invalidArgument(field, `"${name}" is neither a corpus (${CORPUS_NAMES.join(', ')}) nor a task of the datasets library (listTasks())`);
  }
  if (task.kind !== 'task') throw invalidArgument(field, `"${name}" is a task sequence; name one of its tasks (${task.tasks.join(', ')})`);
  return { kind: 'task', name, task };
}

const isCausalLm = (config: RawConfig): boolean => architectureFor(config).classNames.some((c) => /LMHeadModel|ForCausalLM/.test(c));

/** The class names of a classifier config in id order (`id2label`), or undefined when it has none. */
function classLabels(config: RawConfig): string[] | undefined {
  const id2label = config['id2label'];
  if (id2label === null || typeof id2label !== 'object') return undefined;
  const entries = Object.entries(id2label as Record<string, unknown>);
  return entries.every(([, v]) => typeof v === 'string') ? entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, v]) => v as string) : undefined;
}

/**
 * The task term a model gets on `source`: its LM loss for a causal LM; cross-entropy for a
 * classifier whose classes are the task's classes, by name and in order (a head trained on other
 * classes has no meaningful loss on these labels); none otherwise (features and weights only).
 */
export function taskTermFor(source: DistillSource, config: RawConfig): TaskTermKind {
  if (isCausalLm(config)) return 'lm';
  if (source.kind !== 'task') return 'none';
  const classes = classLabels(config);
  const wanted = source.task.labelNames;
  return classes !== undefined && classes.length === wanted.length && classes.every((c, i) => c === wanted[i]) ? 'classification' : 'none';
}

/**
 * Checks that `name` can train the model of `config` (modality, image size) without loading any
 * data beyond the digits' header; INVALID_ARGUMENT on `field`. Services call it at submit time.
 */
export function checkDistillData(name: string, config: RawConfig, field = 'distill.dataset'): DistillSource {
  const source = distillSource(name, field);
  const arch = architectureFor(config);
  const text = source.kind === 'corpus' || source.task.inputKind === 'text';
  if (text && arch.inputKind !== 'tokens') throw invalidArgument(field, `"${name}" is text but the ${arch.modelType} model reads images`);
  if (!text && arch.inputKind !== 'pixels') throw invalidArgument(field, `"${name}" is an image task but the ${arch.modelType} model reads tokens`);
  if (!text) {
    const { height, width } = loadDigits();
    const size = config['image_size'];
    if (size !== height || size !== width) throw invalidArgument(field, `"${name}" has ${height}x${width} images but the model takes ${String(size)}x${String(size)}`);
  }
  return source;
}

/** Rows of `length` tokens a text model can take: its position table, less RoBERTa's offset. */
export function usablePositions(config: RawConfig): number | undefined {
  const n = config['n_positions'] ?? config['max_position_embeddings'];
  if (typeof n !== 'number') return undefined;
  if (config['model_type'] === 'roberta') {
    const pad = typeof config['pad_token_id'] === 'number' ? config['pad_token_id'] : 1;
    return n - pad - 1;
  }
  return n;
}

export function assertKnownVocabulary(config: RawConfig, tokenizerVocab: number, where: string): void {
  const vocab = config['vocab_size'];
  if (typeof vocab === 'number' && tokenizerVocab > vocab) {
    throw new PatchworkError('FAILED_PRECONDITION', `${where} has ${tokenizerVocab} tokens but the model embeds only ${vocab}: it is not this model's tokenizer`);
  }
}
