import { PatchworkError } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import type { ConfigReader, RawConfig } from '../config/config-reader';

/** Rotary embedding settings, normalised from either transformers 4 or 5 config spellings. */
export type RopeSettings =
  | { readonly type: 'default'; readonly theta: number }
  | { readonly type: 'linear'; readonly theta: number; readonly factor: number }
  | {
      readonly type: 'llama3';
      readonly theta: number;
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositions: number;
    };

export const SUPPORTED_ROPE_TYPES = ['default', 'linear', 'llama3'] as const;

function num(params: RawConfig, key: string, field: string, fallback?: number): number {
  const value = params[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new PatchworkError('INVALID_ARGUMENT', `${field}.${key}: must be a positive number, got ${JSON.stringify(value)}`, {
      violations: [{ field: `${field}.${key}`, description: 'must be a positive number' }],
    });
  }
  return value;
}

/**
 * Reads the rope settings: transformers 5 writes `rope_parameters: {rope_type, rope_theta, ...}`,
 * transformers 4 wrote `rope_theta` plus an optional `rope_scaling: {type|rope_type, factor, ...}`.
 * A scaling type this library does not implement is UNIMPLEMENTED, never silently ignored.
 */
export function readRopeSettings(config: ConfigReader): RopeSettings {
  const v5 = config.optionalObject('rope_parameters');
  const scaling = v5 ?? config.optionalObject('rope_scaling') ?? {};
  const field = v5 !== undefined ? 'config.rope_parameters' : 'config.rope_scaling';
  const theta = num(v5 ?? config.raw, 'rope_theta', v5 !== undefined ? field : 'config', 10000);
  const rawType = scaling['rope_type'] ?? scaling['type'] ?? 'default';
  switch (rawType) {
    case 'default':
      return { type: 'default', theta };
    case 'linear':
      return { type: 'linear', theta, factor: num(scaling, 'factor', field) };
    case 'llama3':
      return {
        type: 'llama3',
        theta,
        factor: num(scaling, 'factor', field),
        lowFreqFactor: num(scaling, 'low_freq_factor', field),
        highFreqFactor: num(scaling, 'high_freq_factor', field),
        originalMaxPositions: num(scaling, 'original_max_position_embeddings', field),
      };
    default:
      throw new PatchworkError(
        'UNIMPLEMENTED',
        `${field}: rope type ${JSON.stringify(rawType)} is not supported (supported: ${SUPPORTED_ROPE_TYPES.join(', ')})`,
      );
  }
}

/**
 * The inverse frequencies for a rotary dimension `dim`, rounded step by step to float32 the way
 * torch computes them (`1 / base ** (arange(0, dim, 2) / dim)` in float32), so angles at long
 * positions agree with transformers to the last bit rather than drifting.
 */
export function ropeInverseFrequencies(settings: RopeSettings, dim: number): Float32Array {
  const f = Math.fround;
  const half = dim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(Math.pow(settings.theta, f((2 * i) / dim))));
  if (settings.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = f(inv[i] / settings.factor);
  } else if (settings.type === 'llama3') {
    // Llama 3.1's frequency-dependent scaling: long wavelengths are slowed by `factor`, short ones
    // kept, and the band between interpolated smoothly.
    const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions } = settings;
    const lowFreqWavelen = originalMaxPositions / lowFreqFactor;
    const highFreqWavelen = originalMaxPositions / highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowFreqWavelen) {
        inv[i] = f(inv[i] / factor);
      } else if (wavelen >= highFreqWavelen) {
        const smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        inv[i] = f(((1 - smooth) * inv[i]) / factor + smooth * inv[i]);
      }
    }
  }
  return inv;
}

/** cos and sin tables `[length, dim]` for positions 0..length-1, the frequencies repeated twice. */
export function ropeTables(invFreq: Float32Array, length: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const half = invFreq.length;
  const dim = 2 * half;
  const cos = new Float32Array(length * dim);
  const sin = new Float32Array(length * dim);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * invFreq[i]);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[p * dim + i] = c;
      cos[p * dim + half + i] = c;
      sin[p * dim + i] = s;
      sin[p * dim + half + i] = s;
    }
  }
  return { cos: tf.tensor2d(cos, [length, dim]), sin: tf.tensor2d(sin, [length, dim]) };
}

/** x * cos + rotate_half(x) * sin on `[B, H, L, D]`, rotate_half(x) = [-x2, x1]. */
export function applyRope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const half = x.shape[x.rank - 1] / 2;
    const [x1, x2] = tf.split(x, [half, half], -1);
    const rotated = tf.concat([tf.neg(x2), x1], -1);
    return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
  });
}
