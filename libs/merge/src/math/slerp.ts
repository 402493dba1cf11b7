/**
 * Spherical linear interpolation of two flattened tensors, as mergekit's `slerp`: the angle comes
 * from the normalised vectors, the interpolation weights apply to the unnormalised ones, and
 * nearly colinear pairs (|cos| > 0.9995, anti-parallel included) fall back to linear
 * interpolation, where the sine ratios lose all precision. t = 0 and t = 1 return the endpoints
 * exactly. Dot products and norms accumulate in float64.
 */
export const COLINEAR_THRESHOLD = 0.9995;
const NORM_EPS = 1e-8;

export function slerp(t: number, v0: Float32Array, v1: Float32Array): Float32Array {
  if (t <= 0) return v0.slice();
  if (t >= 1) return v1.slice();
  let n0 = 0;
  let n1 = 0;
  let dot = 0;
  for (let j = 0; j < v0.length; j++) {
    n0 += v0[j] * v0[j];
    n1 += v1[j] * v1[j];
    dot += v0[j] * v1[j];
  }
  n0 = Math.sqrt(n0);
  n1 = Math.sqrt(n1);
  // Vectors at or below the norm epsilon are left unnormalised, as mergekit does.
  const cos = dot / ((n0 > NORM_EPS ? n0 : 1) * (n1 > NORM_EPS ? n1 : 1));
  const out = new Float32Array(v0.length);
  if (Math.abs(cos) > COLINEAR_THRESHOLD) {
    for (let j = 0; j < out.length; j++) out[j] = (1 - t) * v0[j] + t * v1[j];
    return out;
  }
  const theta = Math.acos(cos);
  const sinTheta = Math.sin(theta);
  const s0 = Math.sin(theta - t * theta) / sinTheta;
  const s1 = Math.sin(t * theta) / sinTheta;
  for (let j = 0; j < out.length; j++) out[j] = s0 * v0[j] + s1 * v1[j];
  return out;
}
