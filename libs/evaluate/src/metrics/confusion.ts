import { PatchworkError } from '@patchwork/errors';
import { pairItems } from './common';
import type { MetricItem } from './types';

/** Gold and predicted class indices of each document, validated once. */
export interface LabelPairs {
  readonly golds: Int32Array;
  readonly preds: Int32Array;
  /** Largest label + 1. */
  readonly size: number;
}

export function labelPairs(items: readonly MetricItem[], metric: string): LabelPairs {
  const [g, p] = pairItems(items, metric);
  let size = 0;
  const check = (v: number, what: string, i: number): number => {
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new PatchworkError('INVALID_ARGUMENT', `metric ${metric}: item ${i} has ${what} label ${v}; labels are non-negative integers`);
    size = Math.max(size, v + 1);
    return v;
  };
  const golds = Int32Array.from(g, (v, i) => check(v, 'gold', i));
  const preds = Int32Array.from(p, (v, i) => check(v, 'predicted', i));
  return { golds, preds, size };
}

/** Per-class counts of a single-label classification, in reusable buffers indexed by label. */
export class ClassCounts {
  readonly tp: Int32Array;
  readonly fp: Int32Array;
  readonly fn: Int32Array;
  readonly goldTotals: Int32Array;
  readonly predTotals: Int32Array;
  correct = 0;
  n = 0;

  constructor(readonly size: number) {
    this.tp = new Int32Array(size);
    this.fp = new Int32Array(size);
    this.fn = new Int32Array(size);
    this.goldTotals = new Int32Array(size);
    this.predTotals = new Int32Array(size);
  }

  /** Counts the pairs at `indices` (a bootstrap resample may repeat them), replacing earlier counts. */
  count(pairs: LabelPairs, indices: ArrayLike<number>): this {
    this.tp.fill(0);
    this.fp.fill(0);
    this.fn.fill(0);
    this.goldTotals.fill(0);
    this.predTotals.fill(0);
    let correct = 0;
    for (let k = 0; k < indices.length; k++) {
      const gold = pairs.golds[indices[k]];
      const pred = pairs.preds[indices[k]];
      this.goldTotals[gold]++;
      this.predTotals[pred]++;
      if (gold === pred) {
        this.tp[gold]++;
        correct++;
      } else {
        this.fp[pred]++;
        this.fn[gold]++;
      }
    }
    this.correct = correct;
    this.n = indices.length;
    return this;
  }

  /** Labels seen among the golds or the predictions, ascending. */
  present(): number[] {
    const out: number[] = [];
    for (let l = 0; l < this.size; l++) if (this.goldTotals[l] + this.predTotals[l] > 0) out.push(l);
    return out;
  }

  /** Count of `label` in one of the buffers, 0 for labels beyond them. */
  at(buffer: Int32Array, label: number): number {
    return label < this.size ? buffer[label] : 0;
  }
}

/** Counts every pair once. */
export function countAll(pairs: LabelPairs): ClassCounts {
  const idx = new Int32Array(pairs.golds.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return new ClassCounts(pairs.size).count(pairs, idx);
}
