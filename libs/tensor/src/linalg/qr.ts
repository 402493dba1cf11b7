import { invalidArgument } from '@patchwork/errors';
import { columnToRowMajor, rowToColumnMajor } from './dense';
import { assertMatrix, type RealArray } from './validate';

/**
 * `reduced`: Q is m x min(m, n), R is min(m, n) x n (numpy's default).
 * `complete`: Q is m x m, R is m x n.
 */
export type QrMode = 'reduced' | 'complete';

export interface QrOptions {
  mode?: QrMode;
}

export interface QrResult {
  /** Row-major m x qColumns, orthonormal columns. */
  q: Float64Array;
  /** Row-major qColumns x n, upper triangular with a non-negative diagonal. */
  r: Float64Array;
  m: number;
  n: number;
  qColumns: number;
}

/**
 * Householder QR in Float64 of a row-major m x n matrix.
 *
 * The diagonal of R is made non-negative (the sign of each reflector is moved into Q), which makes
 * the factorisation unique whenever A has full column rank, so results are comparable across
 * implementations and runs. Q has orthonormal columns to working precision even for rank-deficient
 * A, which is why the randomized SVD relies on this rather than on Gram–Schmidt or Cholesky QR.
 */
export function qr(a: RealArray, m: number, n: number, options: QrOptions = {}): QrResult {
  assertMatrix(a, m, n, 'matrix');
  const mode = options.mode ?? 'reduced';
  if (mode !== 'reduced' && mode !== 'complete') {
    throw invalidArgument('options.mode', `must be 'reduced' or 'complete', got ${String(mode)}`);
  }
  const qColumns = mode === 'reduced' ? Math.min(m, n) : m;
  const { q, r } = qrColumnMajor(rowToColumnMajor(a, m, n), m, n, qColumns);
  const rOut = new Float64Array(qColumns * n);
  const p = Math.min(m, n);
  for (let i = 0; i < p; i++) {
    for (let c = i; c < n; c++) rOut[i * n + c] = r[i + c * p];
  }
  return { q: columnToRowMajor(q, m, qColumns), r: rOut, m, n, qColumns };
}

/**
 * The kernel behind `qr`, on a column-major rows x cols matrix that it overwrites.
 * Returns Q (column-major rows x qColumns, qColumns <= rows) and R (column-major p x cols with
 * p = min(rows, cols), zero below the diagonal).
 */
export function qrColumnMajor(
  work: Float64Array,
  rows: number,
  cols: number,
  qColumns: number,
): { q: Float64Array; r: Float64Array } {
  const p = Math.min(rows, cols);
  const tau = householderFactor(work, rows, cols);
  const q = new Float64Array(rows * qColumns);
  for (let c = 0; c < qColumns; c++) q[c * rows + c] = 1;
  // Backward accumulation: H_j leaves columns c < j of H_{j+1}…H_{p-1}·I untouched.
  for (let j = p - 1; j >= 0; j--) {
    if (tau[j] === 0) continue;
    for (let c = j; c < qColumns; c++) applyReflector(work, j * rows, j, rows, tau[j], q, c * rows);
  }
  const r = new Float64Array(p * cols);
  for (let c = 0; c < cols; c++) {
    const top = Math.min(c + 1, p);
    for (let i = 0; i < top; i++) r[i + c * p] = work[i + c * rows];
  }
  // Subtraction from zero rather than unary minus, so no -0 entries appear in the factors.
  for (let i = 0; i < p; i++) {
    if (r[i + i * p] >= 0) continue;
    for (let c = i; c < cols; c++) r[i + c * p] = 0 - r[i + c * p];
    if (i < qColumns) {
      for (let k = 0; k < rows; k++) q[i * rows + k] = 0 - q[i * rows + k];
    }
  }
  return { q, r };
}

/**
 * LAPACK-style in-place factorisation: R on and above the diagonal, the reflector tails below
 * (with an implicit leading 1). Returns the reflector coefficients; tau = 0 means "no reflection".
 */
function householderFactor(a: Float64Array, rows: number, cols: number): Float64Array {
  const p = Math.min(rows, cols);
  const tau = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    const base = j * rows;
    // Scale before squaring so that columns of tiny or huge entries keep full precision.
    let scale = 0;
    for (let i = j; i < rows; i++) scale = Math.max(scale, Math.abs(a[base + i]));
    if (scale === 0) continue;
    let tailSsq = 0;
    for (let i = j + 1; i < rows; i++) {
      const x = a[base + i] / scale;
      tailSsq += x * x;
    }
    if (tailSsq === 0) continue;
    const x0 = a[base + j];
    const x0s = x0 / scale;
    const norm = scale * Math.sqrt(x0s * x0s + tailSsq);
    // beta takes the sign opposite to x0, so x0 - beta never cancels.
    const beta = x0 >= 0 ? -norm : norm;
    const pivot = x0 - beta;
    for (let i = j + 1; i < rows; i++) a[base + i] /= pivot;
    tau[j] = (beta - x0) / beta;
    a[base + j] = beta;
    for (let c = j + 1; c < cols; c++) applyReflector(a, base, j, rows, tau[j], a, c * rows);
  }
  return tau;
}

/** target[:, col] <- (I - tau v vᵀ) target[:, col], with v = [0…0, 1, a[vBase+j+1 …]]. */
function applyReflector(
  a: Float64Array,
  vBase: number,
  j: number,
  rows: number,
  tau: number,
  target: Float64Array,
  tBase: number,
): void {
  let w = target[tBase + j];
  for (let i = j + 1; i < rows; i++) w += a[vBase + i] * target[tBase + i];
  if (w === 0) return;
  w *= tau;
  target[tBase + j] -= w;
  for (let i = j + 1; i < rows; i++) target[tBase + i] -= w * a[vBase + i];
}
