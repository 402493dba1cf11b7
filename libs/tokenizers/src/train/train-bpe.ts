import { PatchworkError, ViolationCollector, invalidArgument } from '@patchwork/errors';
import { gpt2Pattern } from '../compat/whitespace';
import type { AddedTokenJson, BpeModelJson, ComponentJson, TokenizerJson } from '../tokenizer-json';
import { byteLevelAlphabet, toByteLevel } from './byte-level';
import { PairHeap } from './pair-heap';
import { buildTemplateProcessing, type TemplateSpec } from './template';

export interface TrainBpeOptions {
  /** Final vocabulary size: special tokens + 256 byte symbols + learned merges. */
  vocabSize: number;
  /** A pair seen fewer times than this is never merged; training stops there. Default 2. */
  minFrequency?: number;
  /** Added tokens with ids 0..n-1, matched whole in text and never split or merged. */
  specialTokens: readonly string[];
  /** Only byte-level BPE (GPT-2 style) is implemented. */
  byteLevel: true;
  /** Prefix each text with a space so a word is spelled the same at the start of a text. Default false. */
  addPrefixSpace?: boolean;
  /** Special tokens the encoder adds around sequences; without it, none are added (GPT-2). */
  template?: TemplateSpec;
}

// Pair keys pack two ids below 2^20 into one number (exact in a double).
const ID_LIMIT = 1 << 20;
const pairKey = (a: number, b: number): number => a * ID_LIMIT + b;
const leftOf = (key: number): number => Math.floor(key / ID_LIMIT);
const rightOf = (key: number): number => key % ID_LIMIT;

function validate(corpus: unknown, options: TrainBpeOptions): Required<Omit<TrainBpeOptions, 'template'>> {
  if (typeof corpus === 'string' || corpus === null || typeof (corpus as Iterable<string>)?.[Symbol.iterator] !== 'function') {
    throw invalidArgument('corpus', 'expected an iterable of strings (not a single string)');
  }
  if (options?.byteLevel !== true) {
    throw new PatchworkError('UNIMPLEMENTED', 'byteLevel: only byte-level BPE training is implemented; pass byteLevel: true');
  }
  const v = new ViolationCollector();
  const specials = options.specialTokens;
  if (!Array.isArray(specials) || specials.some((s) => typeof s !== 'string' || s === '')) {
    v.add('specialTokens', 'expected a list of non-empty strings');
  } else if (new Set(specials).size !== specials.length) {
    v.add('specialTokens', 'contains duplicates');
  }
  const minimum = (Array.isArray(specials) ? specials.length : 0) + 256;
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < minimum || options.vocabSize >= ID_LIMIT) {
    v.add('vocabSize', `expected an integer in [${minimum}, ${ID_LIMIT}) (special tokens + 256 bytes at least)`);
  }
  const minFrequency = options.minFrequency ?? 2;
  if (!Number.isInteger(minFrequency) || minFrequency < 1) v.add('minFrequency', 'expected a positive integer');
  const addPrefixSpace = options.addPrefixSpace ?? false;
  if (typeof addPrefixSpace !== 'boolean') v.add('addPrefixSpace', 'expected a boolean');
  v.throwIfAny();
  return { vocabSize: options.vocabSize, minFrequency, specialTokens: specials, byteLevel: true, addPrefixSpace };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Counts byte-level words exactly as the loaded tokenizer will pre-tokenize them: special tokens
 * are cut out first (longest match), then each remaining section is split by the GPT-2 pattern.
 */
function countWords(corpus: Iterable<string>, specials: readonly string[], addPrefixSpace: boolean): Map<string, number> {
  const sorted = [...specials].sort((x, y) => y.length - x.length);
  const splitter = sorted.length > 0 ? new RegExp(sorted.map(escapeRegExp).join('|'), 'g') : null;
  const pattern = gpt2Pattern();
  const raw = new Map<string, number>();
  let index = 0;
  for (const text of corpus) {
    if (typeof text !== 'string') throw invalidArgument(`corpus[${index}]`, `expected a string, got ${typeof text}`);
    index++;
    for (let section of splitter ? text.split(splitter) : [text]) {
      if (section === '') continue;
      if (addPrefixSpace && !section.startsWith(' ')) section = ' ' + section;
      for (const match of section.matchAll(pattern)) raw.set(match[0], (raw.get(match[0]) ?? 0) + 1);
    }
  }
  const words = new Map<string, number>();
  for (const [piece, count] of raw) {
    const word = toByteLevel(piece);
    words.set(word, (words.get(word) ?? 0) + count);
  }
  return words;
}

/**
 * Trains a byte-level BPE tokenizer (GPT-2 style) and returns it as a Hugging Face
 * `tokenizer.json`. Deterministic: the most frequent pair is merged first, ties going to the pair
 * whose left then right token is smallest by code point. Pair counts are updated incrementally, only
 * for the words that contain the merged pair.
 */
export function trainBpeTokenizer(corpus: Iterable<string>, options: TrainBpeOptions): TokenizerJson {
  const opts = validate(corpus, options);
  const wordCounts = countWords(corpus, opts.specialTokens, opts.addPrefixSpace);

  const tokens: string[] = [...opts.specialTokens];
  const ids = new Map<string, number>();
  tokens.forEach((t, i) => ids.set(t, i));
  for (const char of byteLevelAlphabet()) {
    // A special token may be a single byte character; it then keeps its special id.
    if (!ids.has(char)) {
      ids.set(char, tokens.length);
      tokens.push(char);
    }
  }

  const words: Int32Array[] = [];
  const freq: number[] = [];
  for (const [word, count] of wordCounts) {
    words.push(Int32Array.from(Array.from(word, (c) => ids.get(c) as number)));
    freq.push(count);
  }

  const counts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  words.forEach((symbols, w) => {
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = pairKey(symbols[i], symbols[i + 1]);
      counts.set(key, (counts.get(key) ?? 0) + freq[w]);
      let set = where.get(key);
      if (!set) where.set(key, (set = new Set()));
      set.add(w);
    }
  });

  const before = (k1: number, k2: number): boolean => {
    const l1 = tokens[leftOf(k1)];
    const l2 = tokens[leftOf(k2)];
    if (l1 !== l2) return l1 < l2;
    return tokens[rightOf(k1)] < tokens[rightOf(k2)];
  };
  const heap = new PairHeap(before);
  for (const [key, count] of counts) heap.push(count, key);

  const merges: [string, string][] = [];
  const top = { count: 0, key: 0 };
  while (tokens.length < opts.vocabSize && heap.pop(top)) {
    const live = counts.get(top.key) ?? 0;
    if (live === 0) continue;
    if (top.count !== live) {
      // A stale entry: a lower live count is re-queued; a higher one already has its own entry.
      if (top.count > live) heap.push(live, top.key);
      continue;
    }
    if (live < opts.minFrequency) break;

    const a = leftOf(top.key);
    const b = rightOf(top.key);
    const merged = tokens[a] + tokens[b];
    let m = ids.get(merged);
    if (m === undefined) {
      m = tokens.length;
      ids.set(merged, m);
      tokens.push(merged);
    }
    merges.push([tokens[a], tokens[b]]);

    const delta = new Map<number, number>();
    const bump = (key: number, by: number): void => {
      delta.set(key, (delta.get(key) ?? 0) + by);
    };
    for (const w of where.get(top.key) ?? []) {
      const symbols = words[w];
      // Occurrences are merged left to right without overlap ("a a a" with (a, a) gives "aa a").
      let hits = 0;
      for (let i = 0; i + 1 < symbols.length; i++) {
        if (symbols[i] === a && symbols[i + 1] === b) {
          hits++;
          i++;
        }
      }
      if (hits === 0) continue;
      const f = freq[w];
      const next = new Int32Array(symbols.length - hits);
      let j = 0;
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) {
          next[j++] = m;
          i++;
        } else {
          next[j++] = symbols[i];
        }
      }
      // Recounting a word's pairs costs its length; only words containing the pair are touched.
      for (let i = 0; i + 1 < symbols.length; i++) bump(pairKey(symbols[i], symbols[i + 1]), -f);
      for (let i = 0; i + 1 < next.length; i++) {
        const key = pairKey(next[i], next[i + 1]);
        bump(key, f);
        if (next[i] === m || next[i + 1] === m) {
          let set = where.get(key);
          if (!set) where.set(key, (set = new Set()));
          set.add(w);
        }
      }
      words[w] = next;
    }
    counts.delete(top.key);
    where.delete(top.key);
    for (const [key, d] of delta) {
      if (d === 0 || key === top.key) continue;
      const count = (counts.get(key) ?? 0) + d;
      if (count > 0) counts.set(key, count);
      else counts.delete(key);
      if (d > 0) heap.push(count, key);
    }
  }

  return assemble(tokens, merges, opts, options.template);
}

function assemble(
  tokens: string[],
  merges: [string, string][],
  opts: Required<Omit<TrainBpeOptions, 'template'>>,
  template: TemplateSpec | undefined,
): TokenizerJson {
  // A null prototype: no token can collide with an Object.prototype member.
  const vocab = Object.create(null) as Record<string, number>;
  tokens.forEach((t, i) => {
    vocab[t] = i;
  });
  const specialIds = new Map(opts.specialTokens.map((t) => [t, vocab[t]]));
  const addedTokens: AddedTokenJson[] = opts.specialTokens.map((content) => ({
    id: vocab[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const byteLevel = { add_prefix_space: opts.addPrefixSpace, trim_offsets: true, use_regex: true };
  const model: BpeModelJson = {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: false,
    vocab,
    merges,
  };
  const postProcessor: ComponentJson = template
    ? (buildTemplateProcessing(template, specialIds) as unknown as ComponentJson)
    : { type: 'ByteLevel', ...byteLevel };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
    post_processor: postProcessor,
    decoder: { type: 'ByteLevel', ...byteLevel },
    model: model as unknown as ComponentJson,
  };
}
