import { invalidArgument } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';

/**
 * Deterministic seeds for tfjs random ops: one stream per adapter, so the same seed gives the
 * same initial weights and the same dropout masks, call for call.
 */
export class SeedStream {
  private state: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw invalidArgument('seed', `must be a safe integer, got ${seed}`);
    this.state = seed;
  }

  next(): number {
    // splitmix32-style step: well-spread seeds from consecutive states.
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
}

/**
 * torch `nn.init.kaiming_uniform_(w, a=sqrt(5))` as PEFT uses it for lora_A (and torch for every
 * `nn.Linear` weight): gain sqrt(2 / (1 + a^2)) = sqrt(1/3), bound = gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in).
 */
export function kaimingUniform(shape: number[], fanIn: number, seed: number): tf.Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  return tf.randomUniform(shape, -bound, bound, 'float32', seed);
}

/** torch's default `nn.Linear` bias init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export const linearBiasUniform = kaimingUniform;

/** A trainable variable holding `t` (reshaped if asked); `t` stays the caller's. */
export function variableOf(t: tf.Tensor, shape?: number[]): tf.Variable {
  const source = shape === undefined ? t : tf.reshape(t, shape);
  const v = tf.variable(source, true);
  if (source !== t) source.dispose();
  return v;
}
