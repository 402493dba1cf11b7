/**
 * Float64 helpers shared by the decompositions. Public inputs and outputs are row-major; the
 * kernels work on column-major copies because Householder reflections and Jacobi rotations touch
 * whole columns, which are then contiguous in memory.
 */
import type { RealArray } from './validate';

export function rowToColumnMajor(a: RealArray, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) out[i + j * rows] = a[base + j];
  }
  return out;
}

export function columnToRowMajor(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let j = 0; j < cols; j++) {
    const base = j * rows;
    for (let i = 0; i < rows; i++) out[i * cols + j] = a[base + i];
  }
  return out;
}

/** Row-major (m x p) times (p x n), accumulated in Float64. */
export function matmul(a: RealArray, b: RealArray, m: number, p: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let l = 0; l < p; l++) {
      const x = a[i * p + l];
      if (x === 0) continue;
      const brow = l * n;
      for (let j = 0; j < n; j++) out[row + j] += x * b[brow + j];
    }
  }
  return out;
}

export function transpose(a: RealArray, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  }
  return out;
}

/** Frobenius norm with scaling, so that entries near the Float64 range neither overflow nor underflow. */
export function frobeniusNorm(a: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  let ssq = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] / scale;
    ssq += x * x;
  }
  return scale * Math.sqrt(ssq);
}

/** max |a_ij - b_ij| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/**
 * Distance of the columns of a row-major rows x cols matrix from orthonormality:
 * max |(XᵀX - I)_ij|.
 */
export function orthonormalityError(x: RealArray, rows: number, cols: number): number {
  const gram = matmul(transpose(x, rows, cols), x, cols, rows, cols);
  let worst = 0;
  for (let i = 0; i < cols; i++) {
    for (let j = 0; j < cols; j++) worst = Math.max(worst, Math.abs(gram[i * cols + j] - (i === j ? 1 : 0)));
  }
  return worst;
}

/** The power of two nearest below max|a|, so that scaling by it is exact (no rounding at all). */
export function powerOfTwoScale(maxAbs: number): number {
  if (maxAbs === 0) return 1;
  return 2 ** Math.floor(Math.log2(maxAbs));
}
