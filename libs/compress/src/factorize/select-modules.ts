import { invalidArgument } from '@patchwork/errors';
import type { LinearSpec, Model } from '@patchwork/models';

/**
 * Modules left dense unless the caller passes its own `exclude` list. PELA omits heads and the
 * patch embedding (`head`, `patch_embed`, ALBEF's `cls`); this is the same choice spelled for our
 * five families. Embeddings and norms are not linear projections, so they are never factored.
 * - `lm_head`: the LM output head (GPT-2's is tied to the token embedding and is skipped anyway).
 * - `classifier`, `classifier.*`: sequence and image classification heads (RoBERTa's has two linears).
 * - `*.pooler.dense`: BERT's pooler, which only feeds the classification head.
 * - `*.patch_embeddings.projection`: ViT's patch embedding (a convolution over pixels).
 */
export const DEFAULT_EXCLUDE: readonly string[] = ['lm_head', 'classifier', 'classifier.*', '*.pooler.dense', '*.patch_embeddings.projection'];

/** PELA skips linears with fewer than 10 outputs (ITM-like heads); the same floor by default. */
export const DEFAULT_MIN_OUT_FEATURES = 10;

export type SkipReason = 'excluded' | 'tied' | 'too-small';

export interface SkippedModule {
  readonly module: string;
  readonly reason: SkipReason;
}

export interface ModuleSelection {
  readonly eligible: readonly LinearSpec[];
  readonly skipped: readonly SkippedModule[];
}

export interface SelectModulesOptions {
  /** Glob patterns over module names (`*` matches any run of characters, dots included); default DEFAULT_EXCLUDE. */
  readonly exclude?: readonly string[];
  /** Linears with fewer outputs stay dense; default DEFAULT_MIN_OUT_FEATURES. */
  readonly minOutFeatures?: number;
}

/** Compiles glob patterns once; INVALID_ARGUMENT names a bad entry. */
export function compileGlobs(patterns: unknown, field: string): RegExp[] {
  if (!Array.isArray(patterns)) throw invalidArgument(field, 'must be an array of module-name patterns');
  return patterns.map((p, i) => {
    if (typeof p !== 'string' || p.trim() === '') throw invalidArgument(`${field}[${i}]`, `must be a non-empty string, got ${JSON.stringify(p)}`);
    const body = p
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    return new RegExp(`^${body}$`);
  });
}

/**
 * Splits a model's linear projections into those to factor and those to keep dense, with the
 * reason for each kept one. Patterns match any spelling of a module (ViT's classic and
 * transformers-5 names alike). A tied head shares its weight with the token embedding, so
 * factoring it would change the embedding too: it always stays dense.
 */
export function selectModules(model: Model, options: SelectModulesOptions = {}): ModuleSelection {
  const globs = compileGlobs(options.exclude ?? DEFAULT_EXCLUDE, 'exclude');
  const minOut = options.minOutFeatures ?? DEFAULT_MIN_OUT_FEATURES;
  if (!Number.isSafeInteger(minOut) || minOut < 1) throw invalidArgument('minOutFeatures', `must be a positive integer, got ${String(minOut)}`);
  const eligible: LinearSpec[] = [];
  const skipped: SkippedModule[] = [];
  for (const [module, spec] of model.linears) {
    const names = model.spellingsOf(module);
    if (globs.some((g) => names.some((n) => g.test(n)))) skipped.push({ module, reason: 'excluded' });
    else if (spec.tied) skipped.push({ module, reason: 'tied' });
    else if (spec.outFeatures < minOut) skipped.push({ module, reason: 'too-small' });
    else eligible.push(spec);
  }
  return { eligible, skipped };
}
