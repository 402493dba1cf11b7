/**
 * Model Stock (Jang et al.), as mergekit's `model_stock`: with offsets δ_i = θ_i − θ_0 and cos the
 * mean pairwise cosine ⟨δ_i, δ_j⟩ / max(‖δ_i‖‖δ_j‖, 1e-6) clamped to [−1, 1],
 *   t = N·cos / (1 + (N − 1)·cos),   out = t·mean_i(θ_i) + (1 − t)·θ_0,
 * over the whole tensor, or per row of `rowLength` elements (`filter_wise`). Where
 * 1 + (N − 1)·cos vanishes (cos = −1/(N − 1), offsets cancelling exactly) t is taken as 0, the
 * base, instead of mergekit's division by zero. Needs N >= 2 models. Norms and dot products sum
 * in float64 in position order (`ModelStockStats`), so they can be gathered chunk by chunk.
 */

/** Running ‖δ_i‖² and ⟨δ_a, δ_b⟩ (pairs a < b in order) over the elements seen so far. */
export interface ModelStockStats {
  squares: Float64Array;
  dots: Float64Array;
}

export function modelStockStats(models: number): ModelStockStats {
  return { squares: new Float64Array(models), dots: new Float64Array((models * (models - 1)) / 2) };
}

function offsetsOf(base: Float32Array, models: Float32Array[], start: number, end: number): Float64Array[] {
  return models.map((m) => {
    const d = new Float64Array(end - start);
    for (let j = start; j < end; j++) d[j - start] = m[j] - base[j];
    return d;
  });
}

export function accumulateModelStock(stats: ModelStockStats, base: Float32Array, models: Float32Array[], start = 0, end = base.length): void {
  const offsets = offsetsOf(base, models, start, end);
  const n = models.length;
  offsets.forEach((d, i) => {
    let s = stats.squares[i];
    for (let j = 0; j < d.length; j++) s += d[j] * d[j];
    stats.squares[i] = s;
  });
  let pair = 0;
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      let dot = stats.dots[pair];
      for (let j = 0; j < offsets[a].length; j++) dot += offsets[a][j] * offsets[b][j];
      stats.dots[pair++] = dot;
    }
  }
}

/** The interpolation ratio t from gathered statistics. */
export function modelStockRatio(stats: ModelStockStats): number {
  const n = stats.squares.length;
  const norms = Array.from(stats.squares, Math.sqrt);
  let cosSum = 0;
  let pair = 0;
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) cosSum += Math.min(1, Math.max(-1, stats.dots[pair++] / Math.max(norms[a] * norms[b], 1e-6)));
  }
  const cos = cosSum / pair;
  const denominator = 1 + (n - 1) * cos;
  return denominator === 0 ? 0 : (n * cos) / denominator;
}

/** t·mean_i(θ_i) + (1 − t)·θ_0 over [start, end), written into `out`. */
export function applyModelStock(t: number, base: Float32Array, models: Float32Array[], out: Float32Array, start = 0, end = base.length): void {
  const n = models.length;
  for (let j = start; j < end; j++) {
    let mean = 0;
    for (const m of models) mean += m[j];
    out[j] = t * (mean / n) + (1 - t) * base[j];
  }
}

export function modelStock(base: Float32Array, models: Float32Array[], rowLength: number = base.length): Float32Array {
  const out = new Float32Array(base.length);
  for (let start = 0; start < base.length; start += rowLength) {
    const end = Math.min(start + rowLength, base.length);
    const stats = modelStockStats(models.length);
    accumulateModelStock(stats, base, models, start, end);
    applyModelStock(modelStockRatio(stats), base, models, out, start, end);
  }
  return out;
}
