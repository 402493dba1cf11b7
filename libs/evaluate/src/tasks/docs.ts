import { type CorpusName, loadTask, textCorpus } from '@patchwork/datasets';
import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { TaskConfig } from './task-config';
import type { DocFields } from './template';

/** One document of an evaluation, in the order of its split (doc_id is its index there). */
export interface EvalDoc {
  /** Stable id in the source data (`digits:17`, `sotu:1862-Lincoln`, ...). */
  readonly id: string;
  readonly text?: string;
  /** Image tasks: row-major `[height, width]` pixels, already scaled. */
  readonly pixels?: Float32Array;
  /** Gold class index into the task's label names. */
  readonly label?: number;
}

/** The documents of one task split, with what templates and heads need to know about them. */
export interface TaskDocs {
  readonly inputKind: 'text' | 'image';
  readonly labelNames?: readonly string[];
  readonly imageShape?: readonly [number, number];
  readonly docs: readonly EvalDoc[];
}

/** Template fields of a document (see `docFields`). */
export function fieldsOf(doc: EvalDoc, labelNames: readonly string[] | undefined): DocFields {
  const fields: Record<string, string | number | readonly string[] | undefined> = { id: doc.id };
  if (doc.text !== undefined) fields.text = doc.text;
  if (doc.label !== undefined) {
    fields.label = doc.label;
    fields.label_name = labelNames?.[doc.label];
  }
  if (labelNames !== undefined) fields.label_names = labelNames;
  return fields;
}

/**
 * Checks documents supplied by a caller (tests, a service that caches data): unique ids, text or
 * pixels as the kind says, labels inside the label names.
 */
export function validateTaskDocs(docs: TaskDocs, field = 'docs'): TaskDocs {
  const problems = new ViolationCollector();
  if (docs.inputKind !== 'text' && docs.inputKind !== 'image') problems.add(`${field}.inputKind`, 'must be "text" or "image"');
  if (docs.labelNames !== undefined && (docs.labelNames.length === 0 || docs.labelNames.some((l) => typeof l !== 'string' || l === ''))) {
    problems.add(`${field}.labelNames`, 'must be non-empty strings');
  }
  const pixelCount = docs.imageShape ? docs.imageShape[0] * docs.imageShape[1] : undefined;
  if (docs.inputKind === 'image' && pixelCount === undefined) problems.add(`${field}.imageShape`, 'is required for images');
  const ids = new Set<string>();
  docs.docs.forEach((doc, i) => {
    const at = `${field}.docs[${i}]`;
    if (typeof doc.id !== 'string' || doc.id === '') problems.add(`${at}.id`, 'must be a non-empty string');
    else if (ids.has(doc.id)) problems.add(`${at}.id`, `duplicates id ${doc.id}`);
    ids.add(doc.id);
    if (docs.inputKind === 'text' && typeof doc.text !== 'string') problems.add(`${at}.text`, 'is required for text documents');
    if (docs.inputKind === 'image' && (!(doc.pixels instanceof Float32Array) || doc.pixels.length !== pixelCount)) problems.add(`${at}.pixels`, `must be a Float32Array of ${pixelCount} pixels`);
    if (doc.label !== undefined && (!Number.isInteger(doc.label) || doc.label < 0 || (docs.labelNames !== undefined && doc.label >= docs.labelNames.length))) {
      problems.add(`${at}.label`, `must index the ${docs.labelNames?.length ?? 0} label names, got ${doc.label}`);
    }
  });
  problems.throwIfAny();
  return docs;
}

/** Loads the documents of a task config's dataset split from @patchwork/datasets. */
export function loadTaskDocs(config: TaskConfig): TaskDocs {
  const { seed, fractions, unit } = config.dataset_kwargs;
  try {
    if (config.dataset_kind === 'corpus') {
      const texts = textCorpus(config.dataset as CorpusName, { split: config.split, seed, fractions, unit });
      return { inputKind: 'text', docs: texts.map((text, i) => ({ id: `${config.dataset}:${config.split}:${i}`, text })) };
    }
    const task = loadTask(config.dataset, { seed, fractions });
    if (task.inputKind === 'image') {
      const split = task[config.split];
      return { inputKind: 'image', labelNames: task.labelNames, imageShape: task.imageShape, docs: split.ids.map((id, i) => ({ id, pixels: split.inputs[i], label: split.labels[i] })) };
    }
    const split = task[config.split];
    return { inputKind: 'text', labelNames: task.labelNames, docs: split.ids.map((id, i) => ({ id, text: split.inputs[i], label: split.labels[i] })) };
  } catch (error) {
    const e = PatchworkError.from(error);
    throw new PatchworkError(e.code, `task ${config.task}: cannot load dataset "${config.dataset}" (${config.split}): ${e.message}`, { cause: error, violations: e.violations });
  }
}
