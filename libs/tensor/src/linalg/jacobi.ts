import { PatchworkError } from '@patchwork/errors';

const EPS = 2.220446049250313e-16;

export interface JacobiResult {
  /** Squared Euclidean norms of the final columns of G: the squared singular values, unsorted. */
  squaredNorms: Float64Array;
  sweeps: number;
}

/**
 * One-sided (Hestenes) Jacobi on a column-major rows x cols matrix G, rows >= cols, overwritten.
 *
 * Plane rotations are applied to pairs of columns until every pair is orthogonal to within
 * tol = rows·eps relative to the pair's norms; the same rotations are accumulated into V
 * (column-major cols x cols, which the caller initialises, normally to I). Afterwards G·Vᵀ equals
 * the input, the columns of G are mutually orthogonal, and σ_j = ‖g_j‖. The test is relative to
 * each pair's own norms, so even columns belonging to tiny singular values end up orthogonal —
 * the reason one-sided Jacobi is accurate where the eigen-decomposition of AᵀA is not.
 */
export function oneSidedJacobi(g: Float64Array, rows: number, cols: number, v: Float64Array, maxSweeps = 80): JacobiResult {
  const tol = EPS * Math.max(rows, 2);
  const squaredNorms = new Float64Array(cols);
  for (let j = 0; j < cols; j++) squaredNorms[j] = dot(g, j * rows, j * rows, rows);

  for (let sweep = 1; sweep <= maxSweeps; sweep++) {
    let rotated = false;
    for (let i = 0; i < cols - 1; i++) {
      const bi = i * rows;
      for (let j = i + 1; j < cols; j++) {
        const alpha = squaredNorms[i];
        const beta = squaredNorms[j];
        if (alpha === 0 || beta === 0) continue;
        const bj = j * rows;
        const gamma = dot(g, bi, bj, rows);
        if (Math.abs(gamma) <= tol * Math.sqrt(alpha) * Math.sqrt(beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        // The smaller root of t² + 2ζt − 1 = 0 (|t| <= 1, the rotation angle at most π/4); for huge
        // ζ the square root would overflow, and t ≈ 1/(2ζ) is exact to rounding there.
        const t =
          Math.abs(zeta) > 1e150 ? 0.5 / zeta : (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        // Rotate and re-measure both columns in the same pass: norms are then always exact, not
        // drifted by the α − tγ update formulas.
        let ni = 0;
        let nj = 0;
        for (let r = 0; r < rows; r++) {
          const x = g[bi + r];
          const y = g[bj + r];
          const xr = c * x - s * y;
          const yr = s * x + c * y;
          g[bi + r] = xr;
          g[bj + r] = yr;
          ni += xr * xr;
          nj += yr * yr;
        }
        squaredNorms[i] = ni;
        squaredNorms[j] = nj;
        const vi = i * cols;
        const vj = j * cols;
        for (let r = 0; r < cols; r++) {
          const x = v[vi + r];
          const y = v[vj + r];
          v[vi + r] = c * x - s * y;
          v[vj + r] = s * x + c * y;
        }
      }
    }
    if (!rotated) return { squaredNorms, sweeps: sweep };
  }
  throw new PatchworkError('INTERNAL', `svd: one-sided Jacobi did not converge in ${maxSweeps} sweeps (${rows} x ${cols})`);
}

function dot(a: Float64Array, offsetX: number, offsetY: number, length: number): number {
  let sum = 0;
  for (let r = 0; r < length; r++) sum += a[offsetX + r] * a[offsetY + r];
  return sum;
}
