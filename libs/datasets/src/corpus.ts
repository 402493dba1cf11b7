import { invalidArgument } from '@patchwork/errors';
import { loadMobyDick } from './sources/moby-dick';
import { loadSotu } from './sources/sotu';
import { loadSpamAssassin } from './sources/spam-assassin';
import { SPLIT_NAMES, type SplitName, type SplitOptions } from './split';
import { sourcePartition } from './tasks/partitions';

export type CorpusName = 'moby-dick' | 'sotu' | 'spam-ham';

export const CORPUS_NAMES: readonly CorpusName[] = ['moby-dick', 'sotu', 'spam-ham'];

export interface TextCorpusOptions extends SplitOptions {
  split: SplitName;
  /** Whole documents (chapters, speeches, mail bodies) or their paragraphs. Default 'document'. */
  unit?: 'document' | 'paragraph';
}

function paragraphs(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/**
 * Text for language-model pre-training, split by whole documents so held-out text never leaks
 * into training: `moby-dick` (etymology, extracts, chapters, epilogue), `sotu` (the addresses) and
 * `spam-ham` (bodies of the ham mails). `sotu` and `spam-ham` use the same partition as the tasks of
 * their source for equal seed and fractions (see tasks/partitions.ts). Documents come in a seeded
 * shuffled order.
 */
export function textCorpus(name: CorpusName, options: TextCorpusOptions): string[] {
  if (!CORPUS_NAMES.includes(name)) throw invalidArgument('name', `unknown corpus "${String(name)}"; expected one of ${CORPUS_NAMES.join(', ')}`);
  if (!SPLIT_NAMES.includes(options?.split)) throw invalidArgument('split', `expected one of ${SPLIT_NAMES.join(', ')}`);
  const unit = options.unit ?? 'document';
  if (unit !== 'document' && unit !== 'paragraph') throw invalidArgument('unit', "expected 'document' or 'paragraph'");
  let documents: string[];
  switch (name) {
    case 'moby-dick': {
      const sections = loadMobyDick();
      documents = sourcePartition('moby-dick', options)[options.split].map((i) => sections[i].text);
      break;
    }
    case 'sotu': {
      const speeches = loadSotu();
      documents = sourcePartition('sotu', options)[options.split].map((i) => speeches[i].text);
      break;
    }
    case 'spam-ham': {
      const mails = loadSpamAssassin();
      documents = sourcePartition('spam-assassin', options)[options.split].filter((i) => mails[i].label === 'ham').map((i) => mails[i].body);
      break;
    }
  }
  documents = documents.filter((d) => d.trim() !== '');
  return unit === 'document' ? documents : documents.flatMap(paragraphs);
}
