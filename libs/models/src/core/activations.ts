import { PatchworkError } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';

export type Activation = (x: tf.Tensor) => tf.Tensor;

/*
 * erfc through the Chebyshev fit of Press et al. (Numerical Recipes, 2nd ed., section 6.2), whose
 * relative error is below 1.2e-7 on the whole real line. The backends' own `erf` kernels use
 * Abramowitz & Stegun 7.1.26 (absolute error 1.5e-7, so a poor *relative* error in the tails) and
 * are not on every backend we target; this one is built from elementary ops, so it runs anywhere.
 */
const ERFC_COEFFS = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277,
];

/** erfc(|z|) for z >= 0 and its Chebyshev polynomial in t = 1 / (1 + |z|/2). */
function erfcOfAbs(az: tf.Tensor): tf.Tensor {
  const t = tf.div(1, tf.add(1, tf.mul(0.5, az)));
  let poly: tf.Tensor = tf.fill(t.shape, ERFC_COEFFS[ERFC_COEFFS.length - 1]);
  for (let i = ERFC_COEFFS.length - 2; i >= 0; i--) poly = tf.add(ERFC_COEFFS[i], tf.mul(t, poly));
  return tf.mul(t, tf.exp(tf.sub(poly, tf.square(az))));
}

/** The complementary error function, relative error < 1.2e-7 everywhere. */
export function erfc(z: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const e = erfcOfAbs(tf.abs(z));
    return tf.where(tf.greaterEqual(z, 0), e, tf.sub(2, e));
  });
}

/** The error function (absolute error < 1.2e-7). */
export function erf(z: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(1, erfc(z)));
}

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * Exact GELU, x * Phi(x) with Phi(x) = erfc(-x / sqrt 2) / 2 (torch `nn.GELU()`, transformers
 * "gelu"). Written through erfc so that the negative tail keeps full relative precision. The
 * gradient is the analytic one, Phi(x) + x phi(x), instead of differentiating the polynomial.
 */
const geluErfWithGrad = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const input = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const cdf = tf.mul(0.5, erfc(tf.mul(input, -INV_SQRT2)));
  save([input, cdf]);
  return {
    value: tf.mul(input, cdf),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, savedCdf] = saved;
      const pdf = tf.mul(INV_SQRT_2PI, tf.exp(tf.mul(-0.5, tf.square(xs))));
      return tf.mul(dy, tf.add(savedCdf, tf.mul(xs, pdf)));
    },
  };
});

/**
 * Exact GELU, x * Phi(x) with Phi(x) = erfc(-x / sqrt 2) / 2 (torch `nn.GELU()`, transformers
 * "gelu"). Written through erfc so that the negative tail keeps full relative precision. The
 * gradient is the analytic one, Phi(x) + x phi(x), instead of differentiating the polynomial.
 */
export const geluErf: Activation = (x) => geluErfWithGrad(x);

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** The tanh approximation of GELU (transformers "gelu_new", "gelu_pytorch_tanh", "gelu_fast"). */
export const geluTanh: Activation = (x) =>
  tf.tidy(() => {
    const inner = tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  });

export const silu: Activation = (x) => tf.tidy(() => tf.mul(x, tf.sigmoid(x)));

export const quickGelu: Activation = (x) => tf.tidy(() => tf.mul(x, tf.sigmoid(tf.mul(1.702, x))));

const ACTIVATIONS: Readonly<Record<string, Activation>> = {
  gelu: geluErf,
  gelu_new: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  gelu_fast: geluTanh,
  quick_gelu: quickGelu,
  silu,
  swish: silu,
  relu: (x) => tf.relu(x),
  tanh: (x) => tf.tanh(x),
};

/** transformers' `ACT2FN` names; an unknown name is UNIMPLEMENTED, naming the config field. */
export function activation(name: string, field: string): Activation {
  const fn = Object.prototype.hasOwnProperty.call(ACTIVATIONS, name) ? ACTIVATIONS[name] : undefined;
  if (fn === undefined) {
    throw new PatchworkError(
      'UNIMPLEMENTED',
      `${field}: activation ${JSON.stringify(name)} is not supported (supported: ${Object.keys(ACTIVATIONS).join(', ')})`,
    );
  }
  return fn;
}
