/**
 * The combining step of mergekit's generalized task arithmetic (`generalized_task_arithmetic.py`),
 * per element, on already-sparsified deltas δ_i with weights w_i (v_i = w_i·δ_i):
 *
 *   consensus: sgn = (Σ v_i >= 0 ? +1 : −1)   ("sum"; "count" uses Σ sign(v_i)); m_i = sign(v_i) == sgn
 *              mix = Σ m_i v_i;  div = Σ m_i w_i, and 1 where that is 0   (zeros never agree)
 *   otherwise: mix = Σ v_i;      div = Σ w_i, and 1 where |div| < 1e-8
 *   out = base + λ·(normalize ? mix / div : mix)
 *
 * The weights are applied before the sign election (mergekit #474) and the divisor is a sum of
 * weights, not a count.
 */
export type Consensus = 'sum' | 'count' | null;

export interface CombineOptions {
  consensus: Consensus;
  normalize: boolean;
  lambda: number;
}

export function combineDeltas(base: Float32Array, deltas: Float32Array[], weights: number[], options: CombineOptions): Float32Array {
  const n = deltas.length;
  const out = new Float32Array(base.length);
  const { consensus, normalize, lambda } = options;
  let plainDivisor = weights.reduce((s, w) => s + w, 0);
  if (Math.abs(plainDivisor) < 1e-8) plainDivisor = 1;
  for (let j = 0; j < out.length; j++) {
    let mix = 0;
    let div = plainDivisor;
    if (consensus === null) {
      for (let i = 0; i < n; i++) mix += weights[i] * deltas[i][j];
    } else {
      let election = 0;
      for (let i = 0; i < n; i++) {
        const v = weights[i] * deltas[i][j];
        election += consensus === 'sum' ? v : Math.sign(v);
      }
      const sign = election >= 0 ? 1 : -1;
      div = 0;
      for (let i = 0; i < n; i++) {
        const v = weights[i] * deltas[i][j];
        if (Math.sign(v) === sign) {
          mix += v;
          div += weights[i];
        }
      }
      if (div === 0) div = 1;
    }
    out[j] = base[j] + lambda * (normalize ? mix / div : mix);
  }
  return out;
}

/** Task vectors θ_i − θ_0 of every model for one tensor. */
export function taskVectors(base: Float32Array, models: Float32Array[]): Float32Array[] {
  return models.map((model) => {
    const delta = new Float32Array(base.length);
    for (let j = 0; j < delta.length; j++) delta[j] = model[j] - base[j];
    return delta;
  });
}

/** base + λ·merged, elementwise. */
export function addScaled(base: Float32Array, merged: Float32Array, lambda: number): Float32Array {
  const out = new Float32Array(base.length);
  for (let j = 0; j < out.length; j++) out[j] = base[j] + lambda * merged[j];
  return out;
}
