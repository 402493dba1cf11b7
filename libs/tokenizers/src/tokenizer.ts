import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { HfTokenizer } from './hf';
import { countAddedTokens, type PostProcessor, type Segment } from './pipeline/post-processor';
import { longestFirstLengths } from './pipeline/truncation';
import type {
  BatchEncoding,
  BatchInput,
  DecodeOptions,
  EncodeBatchOptions,
  EncodeOptions,
  Encoding,
  SpecialToken,
  SpecialTokenRole,
  Tokenizer,
} from './types';

export interface TokenizerParts {
  hf: HfTokenizer;
  postProcessor: PostProcessor;
  vocabSize: number;
  specialTokens: Partial<Record<SpecialTokenRole, SpecialToken>>;
  allSpecialIds: number[];
  /** transformers' `clean_up_tokenization_spaces`; the `tokenizers` library itself never does it. */
  cleanUpTokenizationSpaces: boolean;
}

/**
 * A tokenizer whose normalization, pre-tokenization, model and decoding run in
 * @huggingface/tokenizers (with the compatibility fixes of `compat/`), and whose post-processing,
 * truncation and padding are done here.
 */
export class HfBackedTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly specialTokens: Readonly<Partial<Record<SpecialTokenRole, SpecialToken>>>;
  readonly allSpecialIds: readonly number[];
  private readonly specialIdSet: ReadonlySet<number>;
  private readonly hf: HfTokenizer;
  private readonly postProcessor: PostProcessor;
  private readonly addedSingle: number;
  private readonly addedPair: number;
  private readonly cleanUp: boolean;

  constructor(parts: TokenizerParts) {
    this.hf = parts.hf;
    this.postProcessor = parts.postProcessor;
    this.vocabSize = parts.vocabSize;
    this.specialTokens = Object.freeze({ ...parts.specialTokens });
    this.allSpecialIds = Object.freeze([...parts.allSpecialIds]);
    this.specialIdSet = new Set(parts.allSpecialIds);
    this.cleanUp = parts.cleanUpTokenizationSpaces;
    this.addedSingle = countAddedTokens(parts.postProcessor, false);
    this.addedPair = countAddedTokens(parts.postProcessor, true);
  }

  encode(text: string, pair?: string, options: EncodeOptions = {}): Encoding {
    return this.encodeWith(text, pair, options.addSpecialTokens ?? true, undefined, 'text');
  }

  encodeBatch(inputs: readonly BatchInput[], options: EncodeBatchOptions): BatchEncoding {
    if (!Array.isArray(inputs)) throw invalidArgument('inputs', 'expected a list of strings or [text, pair] tuples');
    const padding = options?.padding;
    const fixed = typeof padding === 'object' && padding !== null ? padding.length : undefined;
    if (padding !== 'longest' && !(Number.isInteger(fixed) && (fixed as number) > 0)) {
      throw invalidArgument('padding', `expected 'longest' or { length: positive integer }, got ${JSON.stringify(padding)}`);
    }
    const maxLength = options.truncation?.maxLength;
    if (options.truncation !== undefined && !(Number.isInteger(maxLength) && (maxLength as number) > 0)) {
      throw invalidArgument('truncation.maxLength', `expected a positive integer, got ${JSON.stringify(maxLength)}`);
    }
    const pad = this.specialTokens.pad;
    if (!pad) {
      throw new PatchworkError(
        'FAILED_PRECONDITION',
        'padding: this tokenizer has no pad token; name one with loadTokenizer(path, { specialTokens: { pad: "..." } })',
      );
    }
    const addSpecialTokens = options.addSpecialTokens ?? true;
    const rows = inputs.map((input, i) => {
      const field = `inputs[${i}]`;
      if (typeof input === 'string') return this.encodeWith(input, undefined, addSpecialTokens, maxLength, field);
      if (Array.isArray(input) && input.length === 2) return this.encodeWith(input[0], input[1], addSpecialTokens, maxLength, field);
      throw invalidArgument(field, 'expected a string or a [text, pair] tuple');
    });
    const width = fixed ?? rows.reduce((m, r) => Math.max(m, r.ids.length), 0);
    const out: BatchEncoding = { inputIds: [], attentionMask: [], typeIds: [] };
    rows.forEach((row, i) => {
      const missing = width - row.ids.length;
      if (missing < 0) {
        throw invalidArgument(`inputs[${i}]`, `${row.ids.length} tokens exceed padding length ${width}; set truncation.maxLength`);
      }
      out.inputIds.push([...row.ids, ...new Array<number>(missing).fill(pad.id)]);
      out.attentionMask.push([...row.attentionMask, ...new Array<number>(missing).fill(0)]);
      out.typeIds.push([...(row.typeIds ?? []), ...new Array<number>(missing).fill(0)]);
    });
    return out;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    if (!Array.isArray(ids)) throw invalidArgument('ids', 'expected a list of token ids');
    ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || this.hf.id_to_token(id) === undefined) {
        throw invalidArgument(`ids[${i}]`, `${String(id)} is not a token id of this tokenizer (vocabulary size ${this.vocabSize})`);
      }
    });
    const skip = options.skipSpecialTokens ?? false;
    const kept = skip ? ids.filter((id) => !this.specialIdSet.has(id)) : ids;
    // The JavaScript library refuses an empty list; the Python library returns "".
    if (kept.length === 0) return '';
    return this.hf.decode([...kept], { skip_special_tokens: skip, clean_up_tokenization_spaces: this.cleanUp });
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? this.hf.id_to_token(id) : undefined;
  }

  private content(text: string, field: string, typeId: number): Segment {
    if (typeof text !== 'string') throw invalidArgument(field, `expected a string, got ${typeof text}`);
    const { ids, tokens } = this.hf.encode(text, { add_special_tokens: false });
    const unknown = ids.findIndex((id) => id === undefined);
    if (unknown >= 0) {
      throw new PatchworkError('INTERNAL', `${field}: token "${tokens[unknown]}" has no id and the model defines no unknown token`);
    }
    return { ids, tokens, typeIds: ids.map(() => typeId) };
  }

  private encodeWith(text: string, pair: string | undefined, addSpecialTokens: boolean, maxLength: number | undefined, field: string): Encoding {
    let a = this.content(text, field, 0);
    let b = pair === undefined ? undefined : this.content(pair, `${field}.pair`, 1);
    if (maxLength !== undefined) {
      const added = addSpecialTokens ? (b ? this.addedPair : this.addedSingle) : 0;
      const budget = maxLength - added;
      if (budget < 0) {
        throw invalidArgument('truncation.maxLength', `${maxLength} is smaller than the ${added} special tokens the template adds`);
      }
      const [la, lb] = longestFirstLengths(a.ids.length, b?.ids.length, budget);
      a = truncate(a, la);
      if (b) b = truncate(b, lb);
    }
    const segments = this.postProcessor(b ? [a, b] : [a], addSpecialTokens);
    const out: Encoding = { ids: [], tokens: [], attentionMask: [], typeIds: [] };
    for (const s of segments) {
      out.ids.push(...s.ids);
      out.tokens.push(...s.tokens);
      out.typeIds?.push(...s.typeIds);
    }
    out.attentionMask = out.ids.map(() => 1);
    return out;
  }
}

function truncate(segment: Segment, length: number): Segment {
  if (segment.ids.length <= length) return segment;
  return { ids: segment.ids.slice(0, length), tokens: segment.tokens.slice(0, length), typeIds: segment.typeIds.slice(0, length) };
}
