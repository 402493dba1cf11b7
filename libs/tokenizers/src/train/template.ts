import { invalidArgument } from '@patchwork/errors';
import type { TemplatePieceJson, TemplateProcessingJson } from '../tokenizer-json';

/**
 * Post-processing templates in the notation of the Python library's `TemplateProcessing`:
 * whitespace-separated pieces, `$A` / `$B` (or `$` for A) for the sequences and special tokens by
 * content, each optionally suffixed with `:typeId`, e.g. single "[CLS] $A [SEP]" and pair
 * "[CLS] $A [SEP] $B:1 [SEP]:1". When `pair` is omitted, it is `single` followed by `$B:1`.
 */
export interface TemplateSpec {
  single: string;
  pair?: string;
}

const SEQUENCE = /^\$(A|B)?(?::(\d+))?$/;
const SEQUENCE_TYPE_ONLY = /^\$(\d+)$/;
const SPECIAL = /^(.+?)(?::(\d+))?$/;

function parsePieces(template: string, field: string, specials: ReadonlyMap<string, number>): TemplatePieceJson[] {
  if (typeof template !== 'string' || template.trim() === '') throw invalidArgument(field, 'expected a non-empty template string');
  return template
    .trim()
    .split(/\s+/)
    .map((piece) => {
      const typeOnly = SEQUENCE_TYPE_ONLY.exec(piece);
      if (typeOnly) return { Sequence: { id: 'A', type_id: Number(typeOnly[1]) } };
      const sequence = SEQUENCE.exec(piece);
      if (sequence) return { Sequence: { id: (sequence[1] ?? 'A') as 'A' | 'B', type_id: Number(sequence[2] ?? 0) } };
      const special = SPECIAL.exec(piece) as RegExpExecArray;
      if (!specials.has(special[1])) throw invalidArgument(field, `"${special[1]}" is not one of the special tokens`);
      return { SpecialToken: { id: special[1], type_id: Number(special[2] ?? 0) } };
    });
}

function countSequences(pieces: TemplatePieceJson[], id: 'A' | 'B'): number {
  return pieces.filter((p) => 'Sequence' in p && p.Sequence.id === id).length;
}

export function buildTemplateProcessing(spec: TemplateSpec, specials: ReadonlyMap<string, number>): TemplateProcessingJson {
  const single = parsePieces(spec.single, 'template.single', specials);
  if (countSequences(single, 'A') !== 1 || countSequences(single, 'B') !== 0) {
    throw invalidArgument('template.single', 'must use $A exactly once and not $B');
  }
  const pair = spec.pair === undefined ? [...single, { Sequence: { id: 'B' as const, type_id: 1 } }] : parsePieces(spec.pair, 'template.pair', specials);
  if (countSequences(pair, 'A') !== 1 || countSequences(pair, 'B') !== 1) {
    throw invalidArgument('template.pair', 'must use $A and $B exactly once each');
  }
  const used = new Set([...single, ...pair].flatMap((p) => ('SpecialToken' in p ? [p.SpecialToken.id] : [])));
  const specialTokens: TemplateProcessingJson['special_tokens'] = {};
  for (const token of [...used].sort()) {
    specialTokens[token] = { id: token, ids: [specials.get(token) as number], tokens: [token] };
  }
  return { type: 'TemplateProcessing', single, pair, special_tokens: specialTokens };
}
