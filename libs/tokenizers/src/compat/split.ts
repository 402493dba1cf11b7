/**
 * The Rust library's `NormalizedString::split` with its five delimiter behaviors. The JavaScript
 * library implements only some of them (Split ignores MergedWithPrevious/MergedWithNext/Contiguous,
 * Punctuation always groups runs, Digits uses ASCII `\d`).
 */
export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

const BEHAVIORS: readonly SplitBehavior[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

export function parseSplitBehavior(value: unknown, fallback: SplitBehavior): SplitBehavior | undefined {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string') return undefined;
  return BEHAVIORS.find((b) => b.toLowerCase() === value.toLowerCase());
}

/** A piece of the input: either a delimiter match or the text between matches. */
export interface Piece {
  text: string;
  isMatch: boolean;
}

/** Matches of a global regex, with the gaps between them (as the Rust regex `Pattern`). */
export function regexPieces(text: string, pattern: RegExp): Piece[] {
  const pieces: Piece[] = [];
  let previous = 0;
  for (const match of text.matchAll(pattern)) {
    const start = match.index;
    if (start > previous) pieces.push({ text: text.slice(previous, start), isMatch: false });
    pieces.push({ text: match[0], isMatch: true });
    previous = start + match[0].length;
  }
  if (previous < text.length) pieces.push({ text: text.slice(previous), isMatch: false });
  return pieces;
}

/** Every code point matching `predicate` is its own match (as the Rust `Fn(char) -> bool` pattern). */
export function charPieces(text: string, predicate: (char: string) => boolean): Piece[] {
  const pieces: Piece[] = [];
  let gap = '';
  for (const char of text) {
    if (predicate(char)) {
      if (gap) pieces.push({ text: gap, isMatch: false });
      gap = '';
      pieces.push({ text: char, isMatch: true });
    } else {
      gap += char;
    }
  }
  if (gap) pieces.push({ text: gap, isMatch: false });
  return pieces;
}

export function invertPieces(pieces: Piece[]): Piece[] {
  return pieces.map((p) => ({ text: p.text, isMatch: !p.isMatch }));
}

export function applySplitBehavior(pieces: Piece[], behavior: SplitBehavior): string[] {
  let kept: Piece[];
  switch (behavior) {
    case 'Isolated':
      kept = pieces;
      break;
    case 'Removed':
      kept = pieces.filter((p) => !p.isMatch);
      break;
    case 'Contiguous':
      kept = mergeRuns(pieces, (p, previousMatch) => p.isMatch === previousMatch);
      break;
    case 'MergedWithPrevious':
      kept = mergeRuns(pieces, (p, previousMatch) => p.isMatch && !previousMatch);
      break;
    case 'MergedWithNext':
      kept = mergeRuns([...pieces].reverse(), (p, previousMatch) => p.isMatch && !previousMatch, true).reverse();
      break;
  }
  return kept.map((p) => p.text).filter((t) => t.length > 0);
}

// Folds each piece into the last accumulated one when `joins` says so; `prepend` for reversed walks.
function mergeRuns(pieces: Piece[], joins: (piece: Piece, previousMatch: boolean) => boolean, prepend = false): Piece[] {
  const out: Piece[] = [];
  let previousMatch = false;
  for (const piece of pieces) {
    const last = out[out.length - 1];
    if (last && joins(piece, previousMatch)) {
      last.text = prepend ? piece.text + last.text : last.text + piece.text;
    } else {
      out.push({ text: piece.text, isMatch: false });
    }
    previousMatch = piece.isMatch;
  }
  return out;
}
