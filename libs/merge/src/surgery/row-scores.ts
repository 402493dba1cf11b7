import { LinearSpec } from '@patchwork/models';

/**
 * −cos(w_i, v) for every output unit i of a linear weight: the unit's weight vector over the
 * inputs is a row of an `out_in` weight ([out, in]) and a column of an `in_out` one ([in, out],
 * GPT-2's Conv1D). Accumulated in float64; a zero vector scores 0 (no direction, cos taken as 0).
 */
export function unitScores(weights: Float32Array, spec: Pick<LinearSpec, 'inFeatures' | 'outFeatures' | 'layout'>, probe: Float32Array): Float64Array {
  const { inFeatures: d, outFeatures: units, layout } = spec;
  let probeNorm = 0;
  for (let k = 0; k < d; k++) probeNorm += probe[k] * probe[k];
  probeNorm = Math.sqrt(probeNorm);
  const dots = new Float64Array(units);
  const norms = new Float64Array(units);
  if (layout === 'in_out') {
    // Walk the stored rows in order (one input each), updating every unit's sums.
    for (let k = 0; k < d; k++) {
      const v = probe[k];
      const row = k * units;
      for (let i = 0; i < units; i++) {
        const w = weights[row + i];
        dots[i] += w * v;
        norms[i] += w * w;
      }
    }
  } else {
    for (let i = 0; i < units; i++) {
      const row = i * d;
      let dot = 0;
      let norm = 0;
      for (let k = 0; k < d; k++) {
        const w = weights[row + k];
        dot += w * probe[k];
        norm += w * w;
      }
      dots[i] = dot;
      norms[i] = norm;
    }
  }
  const out = new Float64Array(units);
  for (let i = 0; i < units; i++) out[i] = norms[i] > 0 ? -dots[i] / (Math.sqrt(norms[i]) * probeNorm) : 0;
  return out;
}

export interface RowSelection {
  /** Per module, the selected units in ascending order. */
  rows: Uint32Array[];
  scores: { highest: number; lowest: number };
}

/**
 * The `count` highest scores over all modules together (the paper's global selection across
 * layers); equal scores go to the earlier module, then the lower unit, so the choice is
 * deterministic.
 */
export function selectRows(scores: readonly Float64Array[], count: number): RowSelection {
  const entries: number[] = [];
  const owner: number[] = [];
  const unit: number[] = [];
  scores.forEach((s, m) => {
    for (let i = 0; i < s.length; i++) {
      entries.push(entries.length);
      owner.push(m);
      unit.push(i);
    }
  });
  const score = (e: number) => scores[owner[e]][unit[e]];
  entries.sort((x, y) => score(y) - score(x) || owner[x] - owner[y] || unit[x] - unit[y]);
  const chosen = entries.slice(0, count);
  const rows = scores.map((_, m) => Uint32Array.from(chosen.filter((e) => owner[e] === m).map((e) => unit[e])).sort());
  return { rows, scores: { highest: score(chosen[0]), lowest: score(chosen[chosen.length - 1]) } };
}
