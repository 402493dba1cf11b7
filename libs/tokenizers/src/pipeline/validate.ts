import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { AddedTokenJson, ComponentJson, TokenizerJson } from '../tokenizer-json';
import { parseSplitBehavior } from '../compat/split';

type Json = Record<string, unknown>;

const MODELS = new Set(['BPE', 'WordPiece', 'Unigram']);

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unsupported(field: string, what: string): PatchworkError {
  return new PatchworkError('UNIMPLEMENTED', `tokenizer.json ${field}: ${what}`, { violations: [{ field, description: what }] });
}

function checkComponent(value: unknown, field: string, v: ViolationCollector): ComponentJson | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value) || typeof value.type !== 'string') {
    v.add(field, 'expected null or an object with a string "type"');
    return null;
  }
  return value as ComponentJson;
}

function checkPreTokenizer(value: Json, field: string, v: ViolationCollector): void {
  if (value.type === 'Sequence') {
    if (!Array.isArray(value.pretokenizers)) return v.add(`${field}.pretokenizers`, 'expected a list');
    value.pretokenizers.forEach((p: unknown, i) => {
      if (isObject(p)) checkPreTokenizer(p, `${field}.pretokenizers[${i}]`, v);
      else v.add(`${field}.pretokenizers[${i}]`, 'expected an object');
    });
  } else if (value.type === 'Split' || value.type === 'Punctuation') {
    if (parseSplitBehavior(value.behavior, 'Isolated') === undefined) {
      v.add(`${field}.behavior`, `unknown split behavior ${JSON.stringify(value.behavior)}`);
    }
    if (value.type === 'Split') {
      const pattern = value.pattern;
      if (!isObject(pattern) || (typeof pattern.String !== 'string' && typeof pattern.Regex !== 'string')) {
        v.add(`${field}.pattern`, 'expected {String: ...} or {Regex: ...}');
      }
    }
  }
}

function checkModel(model: Json, v: ViolationCollector): void {
  const type = model.type;
  if (typeof type !== 'string') return v.add('model.type', 'missing; expected "BPE", "WordPiece" or "Unigram"');
  if (!MODELS.has(type)) throw unsupported('model.type', `model "${type}" is not supported (BPE, WordPiece and Unigram are)`);
  if (type === 'Unigram') {
    if (!Array.isArray(model.vocab)) v.add('model.vocab', 'expected a list of [piece, score] pairs');
    return;
  }
  if (!isObject(model.vocab)) return v.add('model.vocab', 'expected an object mapping tokens to ids');
  for (const [token, id] of Object.entries(model.vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0) {
      v.add(`model.vocab[${JSON.stringify(token)}]`, 'expected a non-negative integer id');
      return;
    }
  }
  if (type === 'WordPiece' && typeof model.unk_token !== 'string') v.add('model.unk_token', 'WordPiece needs an unknown token');
  if (type === 'BPE') {
    if (!Array.isArray(model.merges)) return v.add('model.merges', 'expected a list');
    const bad = model.merges.findIndex(
      (m: unknown) => !(typeof m === 'string' && m.includes(' ')) && !(Array.isArray(m) && m.length === 2 && m.every((s) => typeof s === 'string')),
    );
    if (bad >= 0) v.add(`model.merges[${bad}]`, 'expected "left right" or ["left", "right"]');
    if (typeof model.continuing_subword_prefix === 'string' && model.continuing_subword_prefix.length > 0) {
      // The JavaScript BPE ignores this field, so its output would silently differ.
      throw unsupported('model.continuing_subword_prefix', 'BPE with a continuing-subword prefix is not supported');
    }
  }
}

function checkAddedTokens(value: unknown, v: ViolationCollector): AddedTokenJson[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    v.add('added_tokens', 'expected a list');
    return [];
  }
  value.forEach((t: unknown, i) => {
    if (!isObject(t) || !Number.isInteger(t.id) || (t.id as number) < 0 || typeof t.content !== 'string' || t.content === '') {
      v.add(`added_tokens[${i}]`, 'expected {id: non-negative integer, content: non-empty string, ...}');
    }
  });
  return value as AddedTokenJson[];
}

/** Checks the structure of a parsed `tokenizer.json` and fills the optional fields with null. */
export function validateTokenizerJson(value: unknown): TokenizerJson {
  if (!isObject(value)) {
    throw new PatchworkError('INVALID_ARGUMENT', 'tokenizer.json: expected a JSON object', {
      violations: [{ field: 'tokenizer.json', description: 'expected a JSON object' }],
    });
  }
  const v = new ViolationCollector();
  if (!isObject(value.model)) v.add('model', 'expected an object');
  else checkModel(value.model, v);
  const addedTokens = checkAddedTokens(value.added_tokens, v);
  const normalizer = checkComponent(value.normalizer, 'normalizer', v);
  const preTokenizer = checkComponent(value.pre_tokenizer, 'pre_tokenizer', v);
  if (preTokenizer) checkPreTokenizer(preTokenizer, 'pre_tokenizer', v);
  const postProcessor = checkComponent(value.post_processor, 'post_processor', v);
  const decoder = checkComponent(value.decoder, 'decoder', v);
  v.throwIfAny();
  return {
    version: typeof value.version === 'string' ? value.version : '1.0',
    truncation: value.truncation ?? null,
    padding: value.padding ?? null,
    added_tokens: addedTokens,
    normalizer,
    pre_tokenizer: preTokenizer,
    post_processor: postProcessor,
    decoder,
    model: value.model as ComponentJson,
  };
}
