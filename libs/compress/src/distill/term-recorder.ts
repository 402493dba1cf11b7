import { PatchworkError } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import type { DistillTerms } from './objective';

/** The unweighted loss terms of one step (null: not computed). */
export interface TermValues {
  readonly task: number | null;
  readonly featureDistill: number | null;
  readonly weightPerturbation: number | null;
}

const KEY = 'compress.distill_terms';
const TERMS = ['task', 'featureDistill', 'weightPerturbation'] as const;

/**
 * Keeps the value of each loss term per optimizer step, averaged over its micro-batches, for the
 * ablation report. Values are read as each micro-batch's loss is built (one host read of three
 * scalars); a step enters the history only when the trainer reports it complete, so a step
 * interrupted by cancellation never appears. The history is saved with the trainer's checkpoints
 * as a `[steps, 4]` tensor (step, then the terms, NaN for "not computed").
 */
export class TermRecorder {
  private readonly pending = new Map<number, { sums: number[]; computed: boolean[]; count: number }>();
  private completed: ({ step: number } & TermValues)[] = [];
  private reported = 0;
  private saved?: tf.Tensor;

  /** Records the terms of one micro-batch of the 0-based optimizer step `step`. */
  record(step: number, terms: DistillTerms): void {
    const present = TERMS.map((k) => terms[k]);
    const values = present.map((t) => (t === null ? NaN : (t.dataSync()[0] as number)));
    const entry = this.pending.get(step) ?? { sums: [0, 0, 0], computed: present.map((t) => t !== null), count: 0 };
    values.forEach((v, i) => (entry.sums[i] += Number.isNaN(v) ? 0 : v));
    entry.count++;
    this.pending.set(step, entry);
  }

  /** The trainer finished `completedSteps` steps: the last one joins the history. */
  complete(completedSteps: number): void {
    const entry = this.pending.get(completedSteps - 1);
    this.pending.delete(completedSteps - 1);
    if (entry === undefined) return;
    const n = Math.max(entry.count, 1);
    const [task, featureDistill, weightPerturbation] = entry.sums.map((s, i) => (entry.computed[i] ? s / n : null));
    this.completed.push({ step: completedSteps, task, featureDistill, weightPerturbation });
  }

  history(): ({ step: number } & TermValues)[] {
    return [...this.completed];
  }

  /** Means over the steps completed since the previous call (each term over the steps that computed it). */
  meanSinceLastReport(): TermValues {
    const window = this.completed.slice(this.reported);
    this.reported = this.completed.length;
    const mean = (k: (typeof TERMS)[number]): number | null => {
      const xs = window.map((r) => r[k]).filter((v): v is number => v !== null);
      return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    return { task: mean('task'), featureDistill: mean('featureDistill'), weightPerturbation: mean('weightPerturbation') };
  }

  /** The history as a tensor that stays the recorder's (freed by the next save or by dispose). */
  save(): Map<string, tf.Tensor> {
    const rows = this.completed.map((r) => [r.step, ...TERMS.map((k) => r[k] ?? NaN)]);
    this.saved?.dispose();
    this.saved = tf.tensor2d(Float32Array.from(rows.flat()), [rows.length, 4]);
    return new Map([[KEY, this.saved]]);
  }

  dispose(): void {
    this.saved?.dispose();
    this.saved = undefined;
  }

  load(tensors: ReadonlyMap<string, tf.Tensor>): void {
    const t = tensors.get(KEY);
    if (t === undefined || t.rank !== 2 || t.shape[1] !== 4) throw new PatchworkError('DATA_LOSS', `checkpoint lacks the distillation term history (${KEY})`);
    const v = t.dataSync();
    this.completed = [];
    for (let i = 0; i < t.shape[0]; i++) {
      const at = (j: number): number | null => (Number.isNaN(v[i * 4 + j]) ? null : v[i * 4 + j]);
      this.completed.push({ step: v[i * 4], task: at(1), featureDistill: at(2), weightPerturbation: at(3) });
    }
    this.reported = this.completed.length;
    this.pending.clear();
  }
}
