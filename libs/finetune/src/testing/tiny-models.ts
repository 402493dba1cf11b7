import { type Model, createModel } from '@patchwork/models';
import { MLM_HEAD_KEYS } from '@patchwork/backbones';
import { tf } from '@patchwork/tensor';

type Shapes = Map<string, number[]>;

function linear(s: Shapes, name: string, out: number, inp: number, layout: 'out_in' | 'in_out' = 'out_in'): void {
  s.set(`${name}.weight`, layout === 'out_in' ? [out, inp] : [inp, out]).set(`${name}.bias`, [out]);
}

function norm(s: Shapes, name: string, h: number): void {
  s.set(`${name}.weight`, [h]).set(`${name}.bias`, [h]);
}

export interface TinyDims {
  vocab?: number;
  hidden?: number;
  heads?: number;
  layers?: number;
  inner?: number;
  positions?: number;
  labels?: number;
}

const D = (d: TinyDims) => ({ vocab: d.vocab ?? 40, hidden: d.hidden ?? 16, heads: d.heads ?? 2, layers: d.layers ?? 2, inner: d.inner ?? 32, positions: d.positions ?? 24, labels: d.labels ?? 2 });

export function tinyBertConfig(dims: TinyDims = {}): Record<string, unknown> {
  const d = D(dims);
  return {
    model_type: 'bert',
    architectures: ['BertForSequenceClassification'],
    vocab_size: d.vocab,
    hidden_size: d.hidden,
    num_hidden_layers: d.layers,
    num_attention_heads: d.heads,
    intermediate_size: d.inner,
    max_position_embeddings: d.positions,
    type_vocab_size: 2,
    hidden_act: 'gelu',
    num_labels: d.labels,
  };
}

function bertShapes(dims: TinyDims): Shapes {
  const d = D(dims);
  const h = d.hidden;
  const s: Shapes = new Map([
    ['bert.embeddings.word_embeddings.weight', [d.vocab, h]],
    ['bert.embeddings.position_embeddings.weight', [d.positions, h]],
    ['bert.embeddings.token_type_embeddings.weight', [2, h]],
  ]);
  norm(s, 'bert.embeddings.LayerNorm', h);
  for (let i = 0; i < d.layers; i++) {
    const p = `bert.encoder.layer.${i}`;
    for (const m of ['query', 'key', 'value']) linear(s, `${p}.attention.self.${m}`, h, h);
    linear(s, `${p}.attention.output.dense`, h, h);
    norm(s, `${p}.attention.output.LayerNorm`, h);
    linear(s, `${p}.intermediate.dense`, d.inner, h);
    linear(s, `${p}.output.dense`, h, d.inner);
    norm(s, `${p}.output.LayerNorm`, h);
  }
  linear(s, 'bert.pooler.dense', h, h);
  linear(s, 'classifier', d.labels, h);
  return s;
}

export function tinyGpt2Config(dims: TinyDims = {}): Record<string, unknown> {
  const d = D(dims);
  return { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: d.vocab, n_embd: d.hidden, n_head: d.heads, n_layer: d.layers, n_inner: d.inner, n_positions: d.positions };
}

function gpt2Shapes(dims: TinyDims): Shapes {
  const d = D(dims);
  const h = d.hidden;
  const s: Shapes = new Map([
    ['transformer.wte.weight', [d.vocab, h]],
    ['transformer.wpe.weight', [d.positions, h]],
  ]);
  for (let i = 0; i < d.layers; i++) {
    const p = `transformer.h.${i}`;
    norm(s, `${p}.ln_1`, h);
    linear(s, `${p}.attn.c_attn`, 3 * h, h, 'in_out');
    linear(s, `${p}.attn.c_proj`, h, h, 'in_out');
    norm(s, `${p}.ln_2`, h);
    linear(s, `${p}.mlp.c_fc`, d.inner, h, 'in_out');
    linear(s, `${p}.mlp.c_proj`, h, d.inner, 'in_out');
  }
  norm(s, 'transformer.ln_f', h);
  return s;
}

export function tinyVitConfig(dims: TinyDims = {}): Record<string, unknown> {
  const d = D(dims);
  return {
    model_type: 'vit',
    architectures: ['ViTForImageClassification'],
    hidden_size: d.hidden,
    num_hidden_layers: d.layers,
    num_attention_heads: d.heads,
    intermediate_size: d.inner,
    image_size: 8,
    patch_size: 2,
    num_channels: 1,
    num_labels: d.labels,
  };
}

function vitShapes(dims: TinyDims): Shapes {
  const d = D(dims);
  const h = d.hidden;
  const s: Shapes = new Map([
    ['vit.embeddings.cls_token', [1, 1, h]],
    ['vit.embeddings.position_embeddings', [1, 17, h]],
    ['vit.embeddings.patch_embeddings.projection.weight', [h, 1, 2, 2]],
    ['vit.embeddings.patch_embeddings.projection.bias', [h]],
  ]);
  for (let i = 0; i < d.layers; i++) {
    const p = `vit.encoder.layer.${i}`;
    norm(s, `${p}.layernorm_before`, h);
    for (const m of ['query', 'key', 'value']) linear(s, `${p}.attention.attention.${m}`, h, h);
    linear(s, `${p}.attention.output.dense`, h, h);
    norm(s, `${p}.layernorm_after`, h);
    linear(s, `${p}.intermediate.dense`, d.inner, h);
    linear(s, `${p}.output.dense`, h, d.inner);
  }
  norm(s, 'vit.layernorm', h);
  linear(s, 'classifier', d.labels, h);
  return s;
}

/** Seeded weights for `shapes`: norms near 1, everything else N(0, 0.2²). */
export function randomTensors(shapes: Shapes, seed: number): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  let s = seed;
  for (const [key, shape] of shapes) {
    const isNorm = /(LayerNorm|ln_\w+|layernorm\w*)\.weight$/.test(key);
    out.set(key, tf.tidy(() => (isNorm ? tf.add(1, tf.randomNormal(shape, 0, 0.1, 'float32', s++)) : tf.randomNormal(shape, 0, 0.2, 'float32', s++))));
  }
  return out;
}

export type TinyFamily = 'bert' | 'gpt2' | 'vit';

export function tinyConfig(family: TinyFamily, dims: TinyDims = {}): Record<string, unknown> {
  return family === 'bert' ? tinyBertConfig(dims) : family === 'gpt2' ? tinyGpt2Config(dims) : tinyVitConfig(dims);
}

export function tinyWeights(family: TinyFamily, dims: TinyDims = {}, seed = 1): Map<string, tf.Tensor> {
  return randomTensors(family === 'bert' ? bertShapes(dims) : family === 'gpt2' ? gpt2Shapes(dims) : vitShapes(dims), seed);
}

/** A randomly initialised model of the family; the caller disposes it. */
export function tinyModel(family: TinyFamily, dims: TinyDims = {}, seed = 1): Model {
  return createModel(tinyConfig(family, dims), tinyWeights(family, dims, seed));
}

/** Random `cls.predictions.*` tensors for a tiny BERT (masked-LM prompts). */
export function tinyMlmHead(dims: TinyDims = {}, seed = 100): Map<string, tf.Tensor> {
  const d = D(dims);
  const s: Shapes = new Map([
    [MLM_HEAD_KEYS.denseWeight, [d.hidden, d.hidden]],
    [MLM_HEAD_KEYS.denseBias, [d.hidden]],
    [MLM_HEAD_KEYS.normWeight, [d.hidden]],
    [MLM_HEAD_KEYS.normBias, [d.hidden]],
    [MLM_HEAD_KEYS.bias, [d.vocab]],
  ]);
  return randomTensors(s, seed);
}
