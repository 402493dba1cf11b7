import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { type EvalDoc, fieldsOf } from '../tasks/docs';
import type { TaskConfig } from '../tasks/task-config';
import { listReference, renderTemplate } from '../tasks/template';

/** The prompt of a document: the task description, then doc_to_text (zero-shot lm-eval context). */
export function promptOf(config: TaskConfig, doc: EvalDoc, labelNames: readonly string[] | undefined): string {
  return config.description + renderTemplate(config.doc_to_text, fieldsOf(doc, labelNames));
}

/** The choice texts of a multiple-choice document. */
export function choicesOf(config: TaskConfig, doc: EvalDoc, labelNames: readonly string[] | undefined, docId: number): string[] {
  const fields = fieldsOf(doc, labelNames);
  let choices: string[];
  if (typeof config.doc_to_choice === 'string') {
    const name = listReference(config.doc_to_choice, ['label_names']);
    const value = name === undefined ? undefined : fields[name];
    if (!Array.isArray(value)) throw new PatchworkError('FAILED_PRECONDITION', `task ${config.task}: doc_to_choice ${config.doc_to_choice} needs documents with label names`);
    choices = [...value];
  } else {
    choices = config.doc_to_choice.map((t) => renderTemplate(t, fields));
  }
  choices.forEach((c, i) => {
    if (c === '') throw invalidArgument(`doc ${docId} (${doc.id}).choices[${i}]`, 'renders to an empty choice');
  });
  return choices;
}

/**
 * The gold index from doc_to_target: an integer index, or the text of one of the choices (lm-eval
 * accepts both).
 */
export function goldIndexOf(config: TaskConfig, doc: EvalDoc, labelNames: readonly string[] | undefined, choices: readonly string[], docId: number): number {
  const rendered = renderTemplate(config.doc_to_target, fieldsOf(doc, labelNames)).trim();
  if (/^\d+$/.test(rendered)) {
    const index = Number(rendered);
    if (index < choices.length) return index;
  } else {
    const index = choices.indexOf(rendered);
    if (index >= 0) return index;
  }
  throw invalidArgument(`doc ${docId} (${doc.id}).target`, `doc_to_target gives ${JSON.stringify(rendered)}, which is neither an index below ${choices.length} nor one of the choices`);
}
