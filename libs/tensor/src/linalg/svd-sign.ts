/**
 * The sign convention of every SVD in this library: each left singular vector u_j has its
 * largest-magnitude entry positive, and v_j is flipped together with it (so U S Vᵀ is unchanged).
 * This matches scikit-learn's `svd_flip(u, v)` (u-based). "Largest" is the first entry within a
 * relative 1e-9 of the column's maximum magnitude, so rounding noise between entries of (nearly)
 * equal size cannot flip the choice.
 *
 * u is column-major rows x k, v column-major vRows x k; both are modified in place.
 */
export function applySignConvention(u: Float64Array, rows: number, v: Float64Array, vRows: number, k: number): void {
  for (let j = 0; j < k; j++) {
    const base = j * rows;
    let maxAbs = 0;
    for (let i = 0; i < rows; i++) maxAbs = Math.max(maxAbs, Math.abs(u[base + i]));
    const threshold = maxAbs * (1 - 1e-9);
    let pivot = 0;
    for (let i = 0; i < rows; i++) {
      if (Math.abs(u[base + i]) >= threshold) {
        pivot = u[base + i];
        break;
      }
    }
    if (pivot >= 0) continue;
    for (let i = 0; i < rows; i++) u[base + i] = 0 - u[base + i];
    for (let i = 0; i < vRows; i++) v[j * vRows + i] = 0 - v[j * vRows + i];
  }
}
