/**
 * Model Stock (Jang et al.), as mergekit's `model_stock`: with offsets δ_i = θ_i − θ_0 and cos the
 * mean pairwise cosine ⟨δ_i, δ_j⟩ / max(‖δ_i‖‖δ_j‖, 1e-6) clamped to [−1, 1],
 *   t = N·cos / (1 + (N − 1)·cos),   out = t·mean_i(θ_i) + (1 − t)·θ_0,
 * over the whole tensor, or per row of `rowLength` elements (`filter_wise`). Where
 * 1 + (N − 1)·cos vanishes (cos = −1/(N − 1), offsets cancelling exactly) t is taken as 0, the
 * base, instead of mergekit's division by zero. Needs N >= 2 models.
 */
export function modelStock(base: Float32Array, models: Float32Array[], rowLength: number = base.length): Float32Array {
  const n = models.length;
  const out = new Float32Array(base.length);
  const offsets = models.map((m) => {
    const d = new Float64Array(base.length);
    for (let j = 0; j < d.length; j++) d[j] = m[j] - base[j];
    return d;
  });
  for (let start = 0; start < base.length; start += rowLength) {
    const end = Math.min(start + rowLength, base.length);
    const norms = offsets.map((d) => {
      let s = 0;
      for (let j = start; j < end; j++) s += d[j] * d[j];
      return Math.sqrt(s);
    });
    let cosSum = 0;
    let pairs = 0;
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++) {
        let dot = 0;
        for (let j = start; j < end; j++) dot += offsets[a][j] * offsets[b][j];
        cosSum += Math.min(1, Math.max(-1, dot / Math.max(norms[a] * norms[b], 1e-6)));
        pairs++;
      }
    }
    const cos = cosSum / pairs;
    const denominator = 1 + (n - 1) * cos;
    const t = denominator === 0 ? 0 : (n * cos) / denominator;
    for (let j = start; j < end; j++) {
      let mean = 0;
      for (const m of models) mean += m[j];
      out[j] = t * (mean / n) + (1 - t) * base[j];
    }
  }
  return out;
}
