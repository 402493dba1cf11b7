import { tf } from '@patchwork/tensor';

export interface ReconstructionError {
  /** ‖M − u·v‖_F. */
  readonly frobenius: number;
  /** frobenius / ‖M‖_F (0 for a zero matrix reproduced exactly). */
  readonly relative: number;
  /** max |M − u·v|, PELA's weight-perturbation quantity. */
  readonly maxAbs: number;
  /** ‖M‖_F. */
  readonly norm: number;
}

/** Elements per row block: bounds the temporaries whatever the matrix size. */
const BLOCK_ELEMENTS = 1 << 22;

/**
 * Measures how well `u [rows, r] · v [r, cols]` reproduces `m [rows, cols]`, for the float32
 * factors actually stored. The product runs on the backend in row blocks; the squares are summed
 * on the host in Float64, so the result is limited only by float32 rounding of the residual
 * entries (about 1e-7 of the entries' size), not by accumulation.
 */
export async function reconstructionError(m: tf.Tensor2D, u: tf.Tensor2D, v: tf.Tensor2D): Promise<ReconstructionError> {
  const [rows, cols] = m.shape;
  const blockRows = Math.max(1, Math.floor(BLOCK_ELEMENTS / cols));
  let residualSq = 0;
  let normSq = 0;
  let maxAbs = 0;
  for (let start = 0; start < rows; start += blockRows) {
    const size = Math.min(blockRows, rows - start);
    const [block, residual] = tf.tidy(() => {
      const mb = size === rows ? tf.clone(m) : tf.slice(m, [start, 0], [size, cols]);
      const ub = size === rows ? u : tf.slice(u, [start, 0], [size, u.shape[1]]);
      return [mb, tf.sub(mb, tf.matMul(ub, v))];
    });
    try {
      const [mv, rv] = await Promise.all([block.data(), residual.data()]);
      for (let i = 0; i < rv.length; i++) {
        const r = rv[i];
        residualSq += r * r;
        normSq += mv[i] * mv[i];
        const a = Math.abs(r);
        if (a > maxAbs) maxAbs = a;
      }
    } finally {
      block.dispose();
      residual.dispose();
    }
  }
  const frobenius = Math.sqrt(residualSq);
  const norm = Math.sqrt(normSq);
  return { frobenius, relative: norm === 0 ? (frobenius === 0 ? 0 : Infinity) : frobenius / norm, maxAbs, norm };
}
