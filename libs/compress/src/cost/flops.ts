import { invalidArgument } from '@patchwork/errors';
import type { LinearSpec, RawConfig } from '@patchwork/models';

export interface FlopsPerToken {
  /** Every linear projection: 2·in·out dense, 2·r·(in + out) factored. */
  readonly linear: number;
  /** Attention scores and their weighted sum: 2 · 2·T·d per layer at context length T. */
  readonly attention: number;
  readonly total: number;
  readonly contextLength: number;
}

export interface ModelShape {
  readonly numLayers: number;
  readonly hiddenSize: number;
}

/**
 * Forward FLOPs per token (a multiply-add counts 2), the usual 2·N estimate made exact for the
 * linears: each projection runs once per token (heads included, an upper bound for classifiers
 * that read one token), a factored one costs x·down then ·up. Attention is counted at the full
 * context `contextLength` without causal halving, the same before and after factorization.
 * Embedding lookups, norms and activations are not counted.
 */
export function flopsPerToken(linears: ReadonlyMap<string, LinearSpec>, ranks: ReadonlyMap<string, number>, shape: ModelShape, contextLength: number): FlopsPerToken {
  if (!Number.isSafeInteger(contextLength) || contextLength < 1) throw invalidArgument('contextLength', `must be a positive integer, got ${contextLength}`);
  let linear = 0;
  for (const [module, spec] of linears) {
    const r = ranks.get(module);
    linear += r === undefined ? 2 * spec.inFeatures * spec.outFeatures : 2 * r * (spec.inFeatures + spec.outFeatures);
  }
  const attention = 4 * shape.numLayers * contextLength * shape.hiddenSize;
  return { linear, attention, total: linear + attention, contextLength };
}

const positiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * The context a model is built for: ViT's patch count + 1 (the class token); otherwise the position
 * table size (`n_positions`, `max_position_embeddings`), less RoBERTa's padding offset, with the
 * transformers defaults where the config leaves it out.
 */
export function defaultContextLength(config: RawConfig, modelType: string): number {
  if (modelType === 'vit') {
    const image = positiveInt(config.image_size) ? config.image_size : 224;
    const patch = positiveInt(config.patch_size) ? config.patch_size : 16;
    return Math.floor(image / patch) ** 2 + 1;
  }
  const positions = [config.n_positions, config.max_position_embeddings].find(positiveInt);
  if (modelType === 'roberta') {
    const pad = typeof config.pad_token_id === 'number' ? config.pad_token_id : 1;
    return Math.max(1, (positions ?? 514) - pad - 1);
  }
  if (positions !== undefined) return positions;
  return modelType === 'gpt2' ? 1024 : modelType === 'llama' ? 2048 : 512;
}
