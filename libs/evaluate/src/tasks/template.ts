import { invalidArgument } from '@patchwork/errors';

/** Fields a document exposes to templates. */
export type DocFields = Readonly<Record<string, string | number | readonly string[] | undefined>>;

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The placeholders of a template, in order. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

/**
 * Checks a template against the fields a task's documents have: every `{{ name }}` must be one of
 * them, and a list-valued field may only stand alone (`{{label_names}}`). Stray braces are refused
 * so a typo cannot slip into prompts verbatim.
 */
export function checkTemplate(template: string, field: string, scalarFields: readonly string[], listFields: readonly string[] = []): void {
  const rest = template.replace(PLACEHOLDER, '');
  if (rest.includes('{{') || rest.includes('}}')) throw invalidArgument(field, `has an unbalanced or malformed {{ placeholder }}: ${JSON.stringify(template)}`);
  for (const name of placeholders(template)) {
    if (listFields.includes(name)) {
      if (listReference(template, listFields) !== name) throw invalidArgument(field, `{{${name}}} is a list and must be the whole template`);
    } else if (!scalarFields.includes(name)) {
      throw invalidArgument(field, `unknown field {{${name}}}; documents of this task have ${[...scalarFields, ...listFields].join(', ')}`);
    }
  }
}

/** A template naming one list field alone (`{{label_names}}`), or undefined. */
export function listReference(template: string, listFields: readonly string[]): string | undefined {
  const m = /^\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*$/.exec(template);
  return m && listFields.includes(m[1]) ? m[1] : undefined;
}

/** Fills `{{ name }}` placeholders from the document (the template was checked beforehand). */
export function renderTemplate(template: string, fields: DocFields): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    const value = fields[name];
    if (value === undefined) throw invalidArgument(name, 'this document has no such field');
    return Array.isArray(value) ? JSON.stringify(value) : String(value);
  });
}
