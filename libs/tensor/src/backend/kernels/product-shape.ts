/** The geometry of `op(a) · op(b)` for tfjs's BatchMatMul (rank >= 2, batch axes broadcast). */
export interface ProductShape {
  /** Broadcast batch axes + [m, n]. */
  outShape: number[];
  m: number;
  k: number;
  n: number;
  /** Multiply-adds: (size of the broadcast batch) · m · n · k. */
  macs: number;
}

/**
 * Geometry of the product, or undefined where the operands do not multiply (rank < 2, inner sizes
 * differ, batch axes that do not broadcast). Callers hand those to the backend's own kernel so
 * that the user sees tfjs's own error message.
 */
export function productShape(aShape: readonly number[], bShape: readonly number[], transposeA: boolean, transposeB: boolean): ProductShape | undefined {
  const ra = aShape.length;
  const rb = bShape.length;
  if (ra < 2 || rb < 2) return undefined;
  const m = transposeA ? aShape[ra - 1] : aShape[ra - 2];
  const k = transposeA ? aShape[ra - 2] : aShape[ra - 1];
  const kb = transposeB ? bShape[rb - 1] : bShape[rb - 2];
  const n = transposeB ? bShape[rb - 2] : bShape[rb - 1];
  if (k !== kb) return undefined;
  const batchA = aShape.slice(0, -2);
  const batchB = bShape.slice(0, -2);
  const rank = Math.max(batchA.length, batchB.length);
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = batchA[batchA.length - rank + i] ?? 1;
    const db = batchB[batchB.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    batch.push(da === 1 ? db : da);
  }
  const blocks = batch.reduce((p, d) => p * d, 1);
  return { outShape: [...batch, m, n], m, k, n, macs: blocks * m * n * k };
}
