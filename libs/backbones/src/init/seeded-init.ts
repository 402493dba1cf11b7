import { tf } from '@patchwork/tensor';
import { Prng } from '@patchwork/training';
import type { ShapeTable } from './parameter-shapes';

/** How one parameter starts: zeros, ones, or N(0, std²). */
export type InitRule = { readonly kind: 'zeros' } | { readonly kind: 'ones' } | { readonly kind: 'normal'; readonly std: number };

/** Generator stream reserved for weight initialisation ("INIT"), apart from the trainer's streams. */
export const INIT_STREAM = 0x494e4954;

const isNormWeight = (key: string) => /(LayerNorm|layernorm[^.]*|ln_[^.]*)\.weight$/.test(key);

/**
 * transformers' `_init_weights` for BERT, GPT-2 and ViT: linear, convolution and embedding
 * weights (and ViT's cls token and position table) from N(0, initializerRange²), biases zero,
 * LayerNorm weights one. GPT-2 also scales its residual projections (`c_proj`) to
 * std / sqrt(2 · layers). ViT's truncated normal cuts at ±2 absolute, which never bites at std 0.02.
 */
export function transformersInitRule(initializerRange: number, gpt2Layers?: number): (key: string) => InitRule {
  return (key) => {
    if (key.endsWith('.bias') || key === 'cls.predictions.bias') return { kind: 'zeros' };
    if (isNormWeight(key)) return { kind: 'ones' };
    if (gpt2Layers !== undefined && key.endsWith('c_proj.weight')) return { kind: 'normal', std: initializerRange / Math.sqrt(2 * gpt2Layers) };
    return { kind: 'normal', std: initializerRange };
  };
}

/**
 * Draws every parameter in table order from one xoshiro128** stream of `seed`, so the initial
 * weights are the same on every platform and backend.
 */
export function seededInit(shapes: ShapeTable, rule: (key: string) => InitRule, seed: number): Map<string, Float32Array> {
  const rng = Prng.fromSeed(seed, INIT_STREAM);
  const out = new Map<string, Float32Array>();
  for (const [key, shape] of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    const r = rule(key);
    out.set(key, r.kind === 'zeros' ? new Float32Array(size) : r.kind === 'ones' ? new Float32Array(size).fill(1) : rng.normalArray(size, r.std));
  }
  return out;
}

/** A trainable variable holding `values` (the staging tensor is freed). */
export function variableOf(values: Float32Array, shape: readonly number[]): tf.Variable {
  const staging = tf.tensor(values, [...shape], 'float32');
  try {
    return tf.variable(staging, true);
  } finally {
    staging.dispose();
  }
}

/**
 * The sinusoidal position table of Vaswani et al. (2017), `[length, dim]`, scaled by
 * `amplitude`: PE(p, 2i) = sin(p / 10000^(2i/dim)), PE(p, 2i+1) = cos(p / 10000^(2i/dim)).
 * Used as the *initial value* of learned absolute position embeddings: neighbouring positions
 * start similar, so attention can find adjacent tokens early. With transformers' random
 * N(0, 0.02) table a 2-layer BERT stayed at the unigram plateau for 1000 steps on our text; with
 * this start it left it within 100 (see the README).
 */
export function sinusoidalTable(length: number, dim: number, amplitude: number): Float32Array {
  const out = new Float32Array(length * dim);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < dim; i++) {
      const angle = p * Math.pow(10000, -(2 * Math.floor(i / 2)) / dim);
      out[p * dim + i] = amplitude * (i % 2 === 0 ? Math.sin(angle) : Math.cos(angle));
    }
  }
  return out;
}
