/**
 * Where a tensor sits in the layer stack, for mergekit's parameter gradients: a gradient list is
 * interpolated at t = layer / (layers − 1). The layer index is the first dotted path component that
 * is a number (`model.layers.12.mlp...`, `transformer.h.3...`, `encoder.layer.0...`); tensors with
 * none (embeddings, final norms, heads) sit at t = 0, as in mergekit.
 */
const LAYER_INDEX = /(?:^|\.)(\d+)(?=\.|$)/;

export function layerIndexOf(name: string): number | undefined {
  const match = LAYER_INDEX.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** Maps each name to its position t in [0, 1]; the layer count is one more than the largest index seen. */
export function layerPositions(names: readonly string[]): Map<string, number> {
  let maxIndex = -1;
  for (const name of names) maxIndex = Math.max(maxIndex, layerIndexOf(name) ?? -1);
  const positions = new Map<string, number>();
  for (const name of names) {
    const index = layerIndexOf(name);
    positions.set(name, index === undefined || maxIndex < 1 ? 0 : index / maxIndex);
  }
  return positions;
}

/** Linear interpolation of a gradient at t in [0, 1], like mergekit's `evaluate_setting`. */
export function interpolateGradient(values: readonly number[], t: number): number {
  if (values.length === 1) return values[0];
  const scaled = Math.min(Math.max(t, 0), 1) * (values.length - 1);
  const i0 = Math.floor(scaled);
  const i1 = Math.min(values.length - 1, i0 + 1);
  const frac = scaled - i0;
  return (1 - frac) * values[i0] + frac * values[i1];
}
