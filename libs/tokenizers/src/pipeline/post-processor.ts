import { PatchworkError } from '@patchwork/errors';

/** Part of an encoding under construction: a sequence or a run of special tokens. */
export interface Segment {
  ids: number[];
  tokens: string[];
  typeIds: number[];
}

/**
 * A post-processor maps the encoded sequence(s) to the final list of segments, adding special
 * tokens and assigning type ids. Implemented here rather than taken from @huggingface/tokenizers,
 * whose versions insert the template's token *names* and look their ids up in the vocabulary
 * (ignoring the `special_tokens` table, so multi-token or renamed specials come out wrong), and give
 * RoBERTa's second sequence type id 1 where the Python library gives 0.
 */
export type PostProcessor = (segments: Segment[], addSpecialTokens: boolean) => Segment[];

type Json = Record<string, unknown>;

function fail(field: string, description: string): PatchworkError {
  return new PatchworkError('INVALID_ARGUMENT', `tokenizer.json ${field}: ${description}`, {
    violations: [{ field, description }],
  });
}

function withTypeId(segment: Segment, typeId: number): Segment {
  return { ids: segment.ids, tokens: segment.tokens, typeIds: segment.ids.map(() => typeId) };
}

function special(token: string, id: number, typeId: number): Segment {
  return { ids: [id], tokens: [token], typeIds: [typeId] };
}

function tokenAndId(value: unknown, field: string): [string, number] {
  if (!Array.isArray(value) || typeof value[0] !== 'string' || !Number.isInteger(value[1])) {
    throw fail(field, 'expected a [token, id] pair');
  }
  return [value[0], value[1] as number];
}

interface TemplatePiece {
  kind: 'special' | 'sequence';
  id: string;
  typeId: number;
}

function parseTemplate(value: unknown, field: string, specials: Map<string, Segment>): TemplatePiece[] {
  if (!Array.isArray(value)) throw fail(field, 'expected a list of template pieces');
  return value.map((piece: unknown, i) => {
    const p = piece as { SpecialToken?: Json; Sequence?: Json };
    const body = p.SpecialToken ?? p.Sequence;
    const typeId = body?.type_id ?? 0;
    if (!body || typeof body.id !== 'string' || !Number.isInteger(typeId)) {
      throw fail(`${field}[${i}]`, 'expected {SpecialToken: {id, type_id}} or {Sequence: {id, type_id}}');
    }
    if (p.SpecialToken && !specials.has(body.id)) throw fail(`${field}[${i}]`, `special token "${body.id}" is not in special_tokens`);
    if (p.Sequence && body.id !== 'A' && body.id !== 'B') throw fail(`${field}[${i}]`, 'sequence id must be "A" or "B"');
    return { kind: p.SpecialToken ? 'special' : 'sequence', id: body.id, typeId: typeId as number };
  });
}

function templateProcessing(json: Json, field: string): PostProcessor {
  const specials = new Map<string, Segment>();
  const table = (json.special_tokens ?? {}) as Record<string, Json>;
  for (const [name, entry] of Object.entries(table)) {
    const ids = entry.ids;
    const tokens = entry.tokens;
    if (!Array.isArray(ids) || !Array.isArray(tokens) || ids.length !== tokens.length || !ids.every(Number.isInteger)) {
      throw fail(`${field}.special_tokens.${name}`, 'expected ids and tokens of equal length');
    }
    specials.set(name, { ids: ids as number[], tokens: tokens as string[], typeIds: [] });
  }
  const single = parseTemplate(json.single, `${field}.single`, specials);
  const pair = parseTemplate(json.pair, `${field}.pair`, specials);
  return (segments, addSpecialTokens) => {
    const template = segments.length === 2 ? pair : single;
    const out: Segment[] = [];
    for (const piece of template) {
      if (piece.kind === 'sequence') {
        const segment = segments[piece.id === 'A' ? 0 : 1];
        if (segment) out.push(withTypeId(segment, piece.typeId));
      } else if (addSpecialTokens) {
        const entry = specials.get(piece.id) as Segment;
        out.push({ ids: entry.ids, tokens: entry.tokens, typeIds: entry.ids.map(() => piece.typeId) });
      }
    }
    return out;
  };
}

function bertProcessing(json: Json, field: string): PostProcessor {
  const [sepToken, sepId] = tokenAndId(json.sep, `${field}.sep`);
  const [clsToken, clsId] = tokenAndId(json.cls, `${field}.cls`);
  return (segments, addSpecialTokens) => {
    if (!addSpecialTokens) return segments;
    const [a, b] = segments;
    const out = [special(clsToken, clsId, 0), a, special(sepToken, sepId, 0)];
    if (b) out.push(b, special(sepToken, sepId, 1));
    return out;
  };
}

function robertaProcessing(json: Json, field: string): PostProcessor {
  const [sepToken, sepId] = tokenAndId(json.sep, `${field}.sep`);
  const [clsToken, clsId] = tokenAndId(json.cls, `${field}.cls`);
  return (segments, addSpecialTokens) => {
    const [a, b] = segments.map((s) => withTypeId(s, 0));
    if (!addSpecialTokens) return b ? [a, b] : [a];
    const out = [special(clsToken, clsId, 0), a, special(sepToken, sepId, 0)];
    if (b) out.push(special(sepToken, sepId, 0), b, special(sepToken, sepId, 0));
    return out;
  };
}

/** Builds the post-processor of a `tokenizer.json`; `null` keeps the sequences as they are. */
export function createPostProcessor(json: Json | null, field = 'post_processor'): PostProcessor {
  if (json === null) return (segments) => segments;
  switch (json.type) {
    case 'TemplateProcessing':
      return templateProcessing(json, field);
    case 'BertProcessing':
      return bertProcessing(json, field);
    case 'RobertaProcessing':
      return robertaProcessing(json, field);
    case 'ByteLevel':
      // Only adjusts offsets, which this library does not produce.
      return (segments) => segments;
    case 'Sequence': {
      if (!Array.isArray(json.processors)) throw fail(`${field}.processors`, 'expected a list');
      const steps = (json.processors as Json[]).map((p, i) => createPostProcessor(p, `${field}.processors[${i}]`));
      return (segments, addSpecialTokens) => steps.reduce((acc, step) => step(acc, addSpecialTokens), segments);
    }
    default:
      throw new PatchworkError('UNIMPLEMENTED', `tokenizer.json ${field}: post-processor type "${String(json.type)}" is not supported`);
  }
}

/** How many special tokens the post-processor adds to a single sequence or a pair. */
export function countAddedTokens(processor: PostProcessor, pair: boolean): number {
  const empty = (): Segment => ({ ids: [], tokens: [], typeIds: [] });
  const segments = processor(pair ? [empty(), empty()] : [empty()], true);
  return segments.reduce((n, s) => n + s.ids.length, 0);
}
