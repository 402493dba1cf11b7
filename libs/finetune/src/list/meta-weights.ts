import { tf } from '@patchwork/tensor';

/** Paper constant in w_i = max(w̃_i, 0) / (Σ_j max(w̃_j, 0) + δ). */
export const META_WEIGHT_DELTA = 1e-6;

/**
 * LiST's meta re-weighting of a pseudo-labelled batch. With one virtual SGD step of size η on
 * Σ_j ε_j ℓ_j, the first-order effect of example i on the labelled loss is
 * w̃_i = −∂L_lab(θ − η Σ_j ε_j ∇ℓ_j)/∂ε_i |_{ε=0} = η ⟨∇L_lab(θ), ∇ℓ_i(θ)⟩; the weights are
 * w_i = max(w̃_i, 0) / (Σ_j max(w̃_j, 0) + δ).
 *
 * The inner products come from one backward pass for g = ∇L_lab and a central finite difference
 * of the per-example losses along g (a Jacobian-vector product in two batched forward passes
 * instead of B per-example backward passes): ⟨g, ∇ℓ_i⟩ = ‖g‖ (ℓ_i(θ + h·u) − ℓ_i(θ − h·u)) / 2h,
 * u = g/‖g‖, with h = `relativeStep`·max(1, ‖θ‖), exact for ℓ quadratic along u.
 *
 * `perExampleLoss` and `labelledLoss` must be deterministic (eval mode). The variables are
 * restored bit for bit afterwards.
 */
export function metaWeights(options: {
  readonly vars: readonly tf.Variable[];
  readonly labelledLoss: () => tf.Scalar;
  /** `[B]` losses of the pseudo-labelled examples at the current parameters. */
  readonly perExampleLoss: () => tf.Tensor;
  /** η: the learning rate of the step the weights are for. */
  readonly lr: number;
  readonly relativeStep?: number;
}): Float32Array {
  const { vars } = options;
  const { value, grads } = tf.variableGrads(options.labelledLoss, [...vars]);
  value.dispose();
  const saved = vars.map((v) => tf.clone(v));
  const g = vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
  try {
    const gNorm = Math.sqrt(g.reduce((s, t) => s + tf.tidy(() => tf.sum(tf.square(t)).dataSync()[0]), 0));
    const thetaNorm = Math.sqrt(saved.reduce((s, t) => s + tf.tidy(() => tf.sum(tf.square(t)).dataSync()[0]), 0));
    const size = tf.tidy(() => options.perExampleLoss().dataSync().length);
    if (gNorm === 0 || !Number.isFinite(gNorm)) return new Float32Array(size);
    const h = (options.relativeStep ?? 1e-3) * Math.max(1, thetaNorm);
    const lossesAt = (sign: 1 | -1): Float32Array => {
      vars.forEach((v, i) => {
        const moved = tf.tidy(() => tf.add(saved[i], tf.mul(g[i], (sign * h) / gNorm)));
        v.assign(moved);
        moved.dispose();
      });
      return tf.tidy(() => options.perExampleLoss().dataSync() as Float32Array);
    };
    const plus = lossesAt(1);
    const minus = lossesAt(-1);
    const raw = Float64Array.from(plus, (p, i) => Math.max(0, options.lr * gNorm * ((p - minus[i]) / (2 * h))));
    const total = raw.reduce((s, x) => s + x, 0);
    return Float32Array.from(raw, (x) => x / (total + META_WEIGHT_DELTA));
  } finally {
    vars.forEach((v, i) => v.assign(saved[i]));
    tf.dispose([...saved, ...g]);
  }
}
