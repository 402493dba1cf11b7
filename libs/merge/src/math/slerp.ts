/**
 * Spherical linear interpolation of two flattened tensors, as mergekit's `slerp`: the angle comes
 * from the normalised vectors, the interpolation weights apply to the unnormalised ones, and
 * nearly colinear pairs (|cos| > 0.9995, anti-parallel included) fall back to linear
 * interpolation, where the sine ratios lose all precision. t = 0 and t = 1 return the endpoints
 * exactly. Dot products and norms accumulate in float64, in position order, so they can be
 * gathered chunk by chunk (`SlerpStats`) and give the same coefficients.
 */
export const COLINEAR_THRESHOLD = 0.9995;
const NORM_EPS = 1e-8;

/** Running sums ‖v0‖², ‖v1‖², ⟨v0, v1⟩ over the elements seen so far. */
export interface SlerpStats {
  n0: number;
  n1: number;
  dot: number;
}

export function slerpStats(): SlerpStats {
  return { n0: 0, n1: 0, dot: 0 };
}

export function accumulateSlerp(stats: SlerpStats, v0: Float32Array, v1: Float32Array): void {
  let { n0, n1, dot } = stats;
  for (let j = 0; j < v0.length; j++) {
    n0 += v0[j] * v0[j];
    n1 += v1[j] * v1[j];
    dot += v0[j] * v1[j];
  }
  stats.n0 = n0;
  stats.n1 = n1;
  stats.dot = dot;
}

/** The coefficients (s0, s1) of out = s0·v0 + s1·v1 for t strictly inside (0, 1). */
export function slerpCoefficients(t: number, stats: SlerpStats): [number, number] {
  const n0 = Math.sqrt(stats.n0);
  const n1 = Math.sqrt(stats.n1);
  // Vectors at or below the norm epsilon are left unnormalised, as mergekit does.
  const cos = stats.dot / ((n0 > NORM_EPS ? n0 : 1) * (n1 > NORM_EPS ? n1 : 1));
  if (Math.abs(cos) > COLINEAR_THRESHOLD) return [1 - t, t];
  const theta = Math.acos(cos);
  const sinTheta = Math.sin(theta);
  return [Math.sin(theta - t * theta) / sinTheta, Math.sin(t * theta) / sinTheta];
}

/** s0·v0 + s1·v1 elementwise, or an endpoint copied exactly for t <= 0 or t >= 1. */
export function slerpApply(t: number, coefficients: [number, number], v0: Float32Array, v1: Float32Array): Float32Array {
  if (t <= 0) return v0.slice();
  if (t >= 1) return v1.slice();
  const [s0, s1] = coefficients;
  const out = new Float32Array(v0.length);
  for (let j = 0; j < out.length; j++) out[j] = s0 * v0[j] + s1 * v1[j];
  return out;
}

export function slerp(t: number, v0: Float32Array, v1: Float32Array): Float32Array {
  if (t <= 0) return v0.slice();
  if (t >= 1) return v1.slice();
  const stats = slerpStats();
  accumulateSlerp(stats, v0, v1);
  return slerpApply(t, slerpCoefficients(t, stats), v0, v1);
}
