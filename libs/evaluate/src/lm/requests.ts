import { PatchworkError } from '@patchwork/errors';
import type { Tokenizer } from '@patchwork/tokenizers';
import { pythonRstrip } from './text-units';

/**
 * One log-likelihood request in tokens: `continuation` is scored after `context`. What the model
 * sees is `(context ++ continuation)` cut to its last `maxLength + 1` tokens, minus the last one.
 */
export interface TokenRequest {
  readonly context: readonly number[];
  readonly continuation: readonly number[];
}

/** The end-of-text id lm-eval uses as the empty context and as the first window's prefix. */
export function endOfTextId(tokenizer: Tokenizer): number {
  const special = tokenizer.specialTokens.eos ?? tokenizer.specialTokens.bos;
  if (special === undefined) {
    throw new PatchworkError('FAILED_PRECONDITION', 'the tokenizer has no end-of-text (eos) or bos token; causal log-likelihoods need one to condition the first token on');
  }
  return special.id;
}

function encode(tokenizer: Tokenizer, text: string): number[] {
  // Causal LMs are scored without special tokens, lm-eval's default for them (add_bos_token off).
  return tokenizer.encode(text, undefined, { addSpecialTokens: false }).ids;
}

/**
 * lm-eval's `_encode_pair`: trailing whitespace of the context moves to the continuation, the
 * pair is encoded together, and the continuation's tokens are what follows the context's own
 * encoding (so a merge across the boundary is scored as continuation). An empty context becomes
 * the end-of-text token.
 */
export function encodePair(tokenizer: Tokenizer, context: string, continuation: string): TokenRequest {
  if (context === '') return { context: [endOfTextId(tokenizer)], continuation: encode(tokenizer, continuation) };
  const stripped = pythonRstrip(context);
  const moved = context.slice(stripped.length);
  const whole = encode(tokenizer, stripped + moved + continuation);
  const contextIds = encode(tokenizer, stripped);
  return { context: contextIds, continuation: whole.slice(contextIds.length) };
}

/**
 * lm-eval's rolling windows with context length 1, made disjoint: the document is cut into
 * consecutive pieces of at most `maxLength` predicted tokens; the first piece is conditioned on
 * `prefix` (end-of-text), each later one on as many preceding tokens as fit the window. Every
 * token is predicted exactly once.
 */
export function rollingWindows(tokens: readonly number[], prefix: number, maxLength: number): TokenRequest[] {
  if (tokens.length === 0) return [];
  const out: TokenRequest[] = [];
  const first = Math.min(maxLength, tokens.length);
  out.push({ context: [prefix], continuation: tokens.slice(0, first) });
  let predicted = first;
  while (predicted < tokens.length) {
    const piece = Math.min(tokens.length - predicted, maxLength);
    const end = predicted + piece;
    // get_rolling_token_windows gives (tokens[end-max-1 : end-1], tokens[end-piece : end]);
    // make_disjoint_window drops the part of the first that the second repeats.
    const window = tokens.slice(end - maxLength - 1, end - 1);
    out.push({ context: window.slice(0, window.length - (piece - 1)), continuation: tokens.slice(end - piece, end) });
    predicted = end;
  }
  return out;
}

/** The model input and the positions that score the continuation (lm-eval's left truncation). */
export function modelInput(request: TokenRequest, maxLength: number): { input: number[]; first: number } {
  const { context, continuation } = request;
  if (continuation.length === 0) throw new PatchworkError('INVALID_ARGUMENT', 'a log-likelihood request needs at least one continuation token');
  if (continuation.length > maxLength) {
    throw new PatchworkError('OUT_OF_RANGE', `a continuation of ${continuation.length} tokens does not fit the ${maxLength}-token window`);
  }
  const whole = [...context, ...continuation];
  const input = whole.slice(Math.max(0, whole.length - (maxLength + 1)), whole.length - 1);
  return { input, first: input.length - continuation.length };
}
