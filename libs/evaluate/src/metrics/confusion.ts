import { PatchworkError } from '@patchwork/errors';
import { pairItems } from './common';
import type { MetricItem } from './types';

/** Gold and predicted class indices of each document, validated once. */
export interface LabelPairs {
  readonly golds: Int32Array;
  readonly preds: Int32Array;
  /** Largest label + 1. */
  readonly size: number;
  /**
   * Each document's confusion cell, numbered densely over the (gold, pred) combinations that
   * occur; `cellGold[c]` / `cellPred[c]` name cell c. A resample's counts are then one histogram
   * pass over the documents plus one pass over the cells, which is what keeps 100 000 bootstrap
   * replicates cheap.
   */
  readonly cells: Int32Array;
  readonly cellGold: Int32Array;
  readonly cellPred: Int32Array;
}

function denseCells(golds: Int32Array, preds: Int32Array): Pick<LabelPairs, 'cells' | 'cellGold' | 'cellPred'> {
  // Nested maps: gold * size + pred can pass 2^53 for labels near 2^31.
  const ids = new Map<number, Map<number, number>>();
  const cellGold: number[] = [];
  const cellPred: number[] = [];
  const cells = new Int32Array(golds.length);
  for (let i = 0; i < golds.length; i++) {
    let byPred = ids.get(golds[i]);
    if (byPred === undefined) ids.set(golds[i], (byPred = new Map()));
    let id = byPred.get(preds[i]);
    if (id === undefined) {
      id = cellGold.length;
      byPred.set(preds[i], id);
      cellGold.push(golds[i]);
      cellPred.push(preds[i]);
    }
    cells[i] = id;
  }
  return { cells, cellGold: Int32Array.from(cellGold), cellPred: Int32Array.from(cellPred) };
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
  return { golds, preds, size, ...denseCells(golds, preds) };
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
  private histogram = new Int32Array(0);

  constructor(readonly size: number) {
    this.tp = new Int32Array(size);
    this.fp = new Int32Array(size);
    this.fn = new Int32Array(size);
    this.goldTotals = new Int32Array(size);
    this.predTotals = new Int32Array(size);
  }

  /** Counts the pairs at `indices` (a bootstrap resample may repeat them), replacing earlier counts. */
  count(pairs: LabelPairs, indices: ArrayLike<number>): this {
    if (this.histogram.length !== pairs.cellGold.length) this.histogram = new Int32Array(pairs.cellGold.length);
    const histogram = this.histogram;
    histogram.fill(0);
    const cells = pairs.cells;
    for (let k = 0; k < indices.length; k++) histogram[cells[indices[k]]]++;
    this.tp.fill(0);
    this.fp.fill(0);
    this.fn.fill(0);
    this.goldTotals.fill(0);
    this.predTotals.fill(0);
    let correct = 0;
    for (let c = 0; c < histogram.length; c++) {
      const times = histogram[c];
      if (times === 0) continue;
      const gold = pairs.cellGold[c];
      const pred = pairs.cellPred[c];
      this.goldTotals[gold] += times;
      this.predTotals[pred] += times;
      if (gold === pred) {
        this.tp[gold] += times;
        correct += times;
      } else {
        this.fp[pred] += times;
        this.fn[gold] += times;
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
