import { type ComparableSample, compareSamples, nfrReduction } from '@patchwork/evaluate';

/** Per-sample logs in @patchwork/evaluate's layout from predictions on one labelled set. */
export function samplesOf(predictions: Int32Array, labels: Int32Array, ids: readonly string[]): ComparableSample[] {
  return Array.from(predictions, (pred, i) => ({ doc_id: i, doc_hash: ids[i], target: labels[i], pred, acc: pred === labels[i] ? 1 : 0 }));
}

/**
 * MUSCLE's table for one update, from the predictions of the old model (v1), the new model
 * (v2) and the compatibility-trained new model (v2C) on the same examples.
 */
export function flipMetrics(old: ComparableSample[], plain: ComparableSample[], compat: ComparableSample[]): Record<string, number> {
  const before = compareSamples(old, plain);
  const after = compareSamples(old, compat);
  const reduction = nfrReduction(before, after);
  return {
    acc_old: before.accuracy_old as number,
    acc_new: before.accuracy_new as number,
    acc_compat: after.accuracy_new as number,
    acc_delta: (after.accuracy_new as number) - (before.accuracy_new as number),
    nfr_new: before.negative_flip_rate as number,
    nfr_compat: after.negative_flip_rate as number,
    nfr_delta: reduction.delta,
    ...(reduction.relative_percent === null ? {} : { nfr_delta_percent: reduction.relative_percent }),
    pfr_new: before.positive_flip_rate as number,
    pfr_compat: after.positive_flip_rate as number,
    nfr_mc_new: before.inconsistency_flip_rate as number,
    nfr_mc_compat: after.inconsistency_flip_rate as number,
  };
}
