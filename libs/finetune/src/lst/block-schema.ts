import { PatchworkError } from '@patchwork/errors';
import { type Activation, type LinearSpec, type Model, activation } from '@patchwork/models';

/** One projection of a backbone block, seen as a torch `[out, in]` matrix (a row range of a fused weight for GPT-2's c_attn). */
export interface RoleLinear {
  readonly spec: LinearSpec;
  /** Rows `[start, end)` of the `[out, in]` view that belong to this role. */
  readonly rows: readonly [number, number];
}

export interface NormKeys {
  readonly weight: string;
  readonly bias: string;
}

/** The projections and norms of one transformer block, by role. */
export interface BlockRoles {
  readonly q: RoleLinear;
  readonly k: RoleLinear;
  readonly v: RoleLinear;
  readonly o: RoleLinear;
  readonly fcIn: RoleLinear;
  readonly fcOut: RoleLinear;
  /** Post-LN: after attention; pre-LN: before attention. */
  readonly ln1: NormKeys;
  /** Post-LN: after the feed-forward; pre-LN: before it. */
  readonly ln2: NormKeys;
}

/** A backbone's blocks in the terms the ladder side network needs. */
export interface BlockSchema {
  readonly modelType: string;
  /** Where the LayerNorms sit: BERT/RoBERTa normalise after each residual add, GPT-2/ViT before each sub-layer. */
  readonly norm: 'post' | 'pre';
  readonly causal: boolean;
  readonly hidden: number;
  readonly heads: number;
  readonly inner: number;
  readonly eps: number;
  readonly act: Activation;
  readonly activationName: string;
  readonly blocks: readonly BlockRoles[];
  /**
   * A final norm that the backbone applies before its head but outside the head itself (GPT-2's
   * ln_f): the side network gets its own copy. ViT's final norm is part of its classifier head.
   */
  readonly finalNorm?: NormKeys;
  /**
   * Parameters outside the blocks with a residual-stream axis (embeddings): axis -1 for tables
   * `[rows, hidden]`, axis 0 for ViT's patch projection `[hidden, channels, kh, kw]`.
   */
  readonly residualKeys: readonly ResidualKey[];
}

export interface ResidualKey {
  readonly key: string;
  readonly axis: 0 | -1;
}

const last = (...keys: string[]): ResidualKey[] => keys.map((key) => ({ key, axis: -1 }));

export const LST_ARCHITECTURES = ['bert', 'roberta', 'gpt2', 'vit'] as const;

function linear(model: Model, module: string, rows?: [number, number]): RoleLinear {
  const spec = model.linears.get(module);
  if (spec === undefined) throw new PatchworkError('INTERNAL', `${model.modelType} model lacks ${module}`);
  return { spec, rows: rows ?? [0, spec.outFeatures] };
}

const norm = (prefix: string): NormKeys => ({ weight: `${prefix}.weight`, bias: `${prefix}.bias` });

function configNumber(model: Model, keys: string[], fallback: number): number {
  for (const k of keys) if (typeof model.config[k] === 'number') return model.config[k] as number;
  return fallback;
}

function configString(model: Model, keys: string[], fallback: string): string {
  for (const k of keys) if (typeof model.config[k] === 'string') return model.config[k] as string;
  return fallback;
}

/** The block schema of `model`; UNIMPLEMENTED for architectures without a side-network mapping. */
export function blockSchema(model: Model): BlockSchema {
  const d = model.hiddenSize;
  const L = model.numLayers;
  const blocks: BlockRoles[] = [];
  switch (model.modelType) {
    case 'bert':
    case 'roberta': {
      const base = model.modelType;
      for (let i = 0; i < L; i++) {
        const p = `${base}.encoder.layer.${i}`;
        blocks.push({
          q: linear(model, `${p}.attention.self.query`),
          k: linear(model, `${p}.attention.self.key`),
          v: linear(model, `${p}.attention.self.value`),
          o: linear(model, `${p}.attention.output.dense`),
          fcIn: linear(model, `${p}.intermediate.dense`),
          fcOut: linear(model, `${p}.output.dense`),
          ln1: norm(`${p}.attention.output.LayerNorm`),
          ln2: norm(`${p}.output.LayerNorm`),
        });
      }
      const e = `${base}.embeddings`;
      const act = configString(model, ['hidden_act'], 'gelu');
      return {
        modelType: base,
        norm: 'post',
        causal: false,
        hidden: d,
        heads: configNumber(model, ['num_attention_heads'], 12),
        inner: blocks[0].fcIn.spec.outFeatures,
        eps: configNumber(model, ['layer_norm_eps'], 1e-12),
        act: activation(act, 'config.hidden_act'),
        activationName: act,
        blocks,
        residualKeys: last(`${e}.word_embeddings.weight`, `${e}.position_embeddings.weight`, `${e}.token_type_embeddings.weight`, `${e}.LayerNorm.weight`, `${e}.LayerNorm.bias`),
      };
    }
    case 'gpt2': {
      for (let i = 0; i < L; i++) {
        const p = `transformer.h.${i}`;
        blocks.push({
          q: linear(model, `${p}.attn.c_attn`, [0, d]),
          k: linear(model, `${p}.attn.c_attn`, [d, 2 * d]),
          v: linear(model, `${p}.attn.c_attn`, [2 * d, 3 * d]),
          o: linear(model, `${p}.attn.c_proj`),
          fcIn: linear(model, `${p}.mlp.c_fc`),
          fcOut: linear(model, `${p}.mlp.c_proj`),
          ln1: norm(`${p}.ln_1`),
          ln2: norm(`${p}.ln_2`),
        });
      }
      const act = configString(model, ['activation_function'], 'gelu_new');
      return {
        modelType: 'gpt2',
        norm: 'pre',
        causal: true,
        hidden: d,
        heads: configNumber(model, ['n_head', 'num_attention_heads'], 12),
        inner: blocks[0].fcIn.spec.outFeatures,
        eps: configNumber(model, ['layer_norm_epsilon'], 1e-5),
        act: activation(act, 'config.activation_function'),
        activationName: act,
        blocks,
        finalNorm: norm('transformer.ln_f'),
        residualKeys: last('transformer.wte.weight', 'transformer.wpe.weight'),
      };
    }
    case 'vit': {
      for (let i = 0; i < L; i++) {
        const p = `vit.encoder.layer.${i}`;
        blocks.push({
          q: linear(model, `${p}.attention.attention.query`),
          k: linear(model, `${p}.attention.attention.key`),
          v: linear(model, `${p}.attention.attention.value`),
          o: linear(model, `${p}.attention.output.dense`),
          fcIn: linear(model, `${p}.intermediate.dense`),
          fcOut: linear(model, `${p}.output.dense`),
          ln1: norm(`${p}.layernorm_before`),
          ln2: norm(`${p}.layernorm_after`),
        });
      }
      const act = configString(model, ['hidden_act'], 'gelu');
      return {
        modelType: 'vit',
        norm: 'pre',
        causal: false,
        hidden: d,
        heads: configNumber(model, ['num_attention_heads'], 12),
        inner: blocks[0].fcIn.spec.outFeatures,
        eps: configNumber(model, ['layer_norm_eps'], 1e-12),
        act: activation(act, 'config.hidden_act'),
        activationName: act,
        blocks,
        residualKeys: [
          ...last('vit.embeddings.cls_token', 'vit.embeddings.position_embeddings'),
          { key: 'vit.embeddings.patch_embeddings.projection.weight', axis: 0 },
          { key: 'vit.embeddings.patch_embeddings.projection.bias', axis: 0 },
        ],
      };
    }
    default:
      throw new PatchworkError('UNIMPLEMENTED', `LST side networks are implemented for ${LST_ARCHITECTURES.join(', ')}; the base model is ${model.modelType}`);
  }
}
