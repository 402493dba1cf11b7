import type { RoleLinear } from './block-schema';

/** Index into a stored weight of element `(row, col)` of the role's `[out, in]` view. */
export function roleIndex(role: RoleLinear, row: number, col: number): number {
  const { spec } = role;
  const o = role.rows[0] + row;
  return spec.layout === 'out_in' ? o * spec.inFeatures + col : col * spec.outFeatures + o;
}

export function roleRows(role: RoleLinear): number {
  return role.rows[1] - role.rows[0];
}

/** The role's `[rowIdx.length, colIdx.length]` sub-matrix of a stored weight, in `[out, in]` order. */
export function sliceRole(values: ArrayLike<number>, role: RoleLinear, rowIdx: ArrayLike<number>, colIdx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rowIdx.length * colIdx.length);
  for (let a = 0; a < rowIdx.length; a++) {
    for (let b = 0; b < colIdx.length; b++) out[a * colIdx.length + b] = values[roleIndex(role, rowIdx[a], colIdx[b])];
  }
  return out;
}

/** The role's bias entries at `rowIdx` (a fused bias is offset by the role's first row). */
export function sliceBias(values: ArrayLike<number>, role: RoleLinear, rowIdx: ArrayLike<number>): Float32Array {
  return Float32Array.from(rowIdx as ArrayLike<number>, (r) => values[role.rows[0] + r]);
}

export function sliceVector(values: ArrayLike<number>, idx: ArrayLike<number>): Float32Array {
  return Float32Array.from(idx as ArrayLike<number>, (i) => values[i]);
}
