import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { PatchworkError } from '@patchwork/errors';

/** Every non-empty document of a YAML file, as plain data; a syntax error names the file and line. */
export function readYamlDocuments(file: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PatchworkError('NOT_FOUND', `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const out: unknown[] = [];
  for (const doc of docs) {
    const [error] = doc.errors;
    if (error) throw new PatchworkError('INVALID_ARGUMENT', `${file}: ${error.message}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

export function readYamlDocument(file: string): unknown {
  const docs = readYamlDocuments(file);
  if (docs.length !== 1) throw new PatchworkError('INVALID_ARGUMENT', `${file}: expected one YAML document, found ${docs.length}`);
  return docs[0];
}
