import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { applyCompatibilityFixes } from './compat/patch';
import { loadHf } from './hf';
import { createPostProcessor } from './pipeline/post-processor';
import { resolveSpecialTokens } from './pipeline/special-tokens';
import { validateTokenizerJson } from './pipeline/validate';
import { HfBackedTokenizer } from './tokenizer';
import type { LoadTokenizerOptions, SpecialTokenRole, Tokenizer } from './types';

export interface CreateTokenizerOptions extends LoadTokenizerOptions {
  /** Contents of `tokenizer_config.json` (transformers), used for special-token roles and decoding. */
  tokenizerConfig?: Record<string, unknown>;
}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    const e = PatchworkError.from(error);
    throw new PatchworkError(e.code, `${what}: cannot read ${file}: ${e.message}`, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PatchworkError('INVALID_ARGUMENT', `${what}: ${file} is not valid JSON (${(error as Error).message})`, {
      violations: [{ field: what, description: 'not valid JSON' }],
      cause: error,
    });
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * Loads a Hugging Face tokenizer from `tokenizer.json` or the directory holding it. A
 * `tokenizer_config.json` beside it, when present, supplies special-token roles and transformers'
 * decoding clean-up flag.
 */
export async function loadTokenizer(location: string, options: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  if (typeof location !== 'string' || location === '') {
    throw new PatchworkError('INVALID_ARGUMENT', 'path: expected a path to tokenizer.json or its directory');
  }
  const stat = await fs.stat(location).catch((error: unknown) => {
    throw new PatchworkError('NOT_FOUND', `tokenizer: ${location} does not exist`, { cause: error });
  });
  const file = stat.isDirectory() ? path.join(location, 'tokenizer.json') : location;
  const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
  const json = await readJson(file, 'tokenizer.json');
  const config = (await exists(configFile)) ? await readJson(configFile, 'tokenizer_config.json') : undefined;
  if (config !== undefined && (typeof config !== 'object' || config === null || Array.isArray(config))) {
    throw new PatchworkError('INVALID_ARGUMENT', `tokenizer_config.json: ${configFile} is not a JSON object`);
  }
  return createTokenizer(json, { ...options, tokenizerConfig: config as Record<string, unknown> | undefined });
}

function componentError(error: unknown): PatchworkError {
  const message = error instanceof Error ? error.message : String(error);
  // The JavaScript library throws plain Errors such as `Unknown PreTokenizer type: UnicodeScripts`.
  if (/^Unknown \w+ type/.test(message)) return new PatchworkError('UNIMPLEMENTED', `tokenizer.json: ${message}`, { cause: error });
  return new PatchworkError('INVALID_ARGUMENT', `tokenizer.json: ${message}`, { cause: error });
}

/** Builds a tokenizer from the parsed contents of a `tokenizer.json`. */
export async function createTokenizer(json: unknown, options: CreateTokenizerOptions = {}): Promise<Tokenizer> {
  const tj = validateTokenizerJson(json);
  const postProcessor = createPostProcessor(tj.post_processor);
  const config = options.tokenizerConfig ?? {};
  const hfModule = await loadHf();
  let hf;
  try {
    // Post-processing is ours (see pipeline/post-processor.ts); the library only sees sequences.
    hf = new hfModule.Tokenizer(
      { ...tj, post_processor: null },
      { clean_up_tokenization_spaces: config.clean_up_tokenization_spaces === true },
    );
  } catch (error) {
    throw componentError(error);
  }
  applyCompatibilityFixes(hfModule, hf, {
    pre_tokenizer: tj.pre_tokenizer as Record<string, unknown> | null,
    model: tj.model as Record<string, unknown>,
  });

  let maxId = -1;
  for (const id of hf.get_vocab(true).values()) maxId = Math.max(maxId, id);
  const specials = tj.added_tokens.filter((t) => t.special);
  const declared: Partial<Record<SpecialTokenRole, string>> = {};
  const padding = tj.padding as { pad_token?: unknown } | null;
  if (typeof padding?.pad_token === 'string') declared.pad = padding.pad_token;
  if (typeof tj.model.unk_token === 'string') declared.unk = tj.model.unk_token;

  const tokenizer = hf;
  return new HfBackedTokenizer({
    hf,
    postProcessor,
    vocabSize: maxId + 1,
    specialTokens: resolveSpecialTokens({
      overrides: options.specialTokens,
      tokenizerConfig: config,
      declared,
      specialContents: specials.map((t) => t.content),
      tokenToId: (token) => tokenizer.token_to_id(token),
    }),
    allSpecialIds: [...new Set(specials.map((t) => t.id))].sort((x, y) => x - y),
    cleanUpTokenizationSpaces: config.clean_up_tokenization_spaces === true,
  });
}
