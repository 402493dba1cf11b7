import type { MergeStep, TrainedAdapter } from '../../lifecycle/lifecycle-result';
import { barChart } from '../charts/bar-chart';
import { hbarChart } from '../charts/hbar-chart';
import { percent } from '../svg/format';
import { THEME } from '../svg/theme';
import { measured, type Figure } from './figure';

/** Task names in first-seen order over all rows, so columns are stable across methods. */
export function mergeTasks(merge: MergeStep): string[] {
  const seen = new Set<string>();
  for (const row of merge.rows) for (const task of Object.keys(row.accuracy)) seen.add(task);
  return [...seen];
}

/** Each task's own fine-tuned test accuracy: the reference normalized averages divide by. */
export function fineTunedAccuracy(training: readonly TrainedAdapter[], task: string): number | undefined {
  const adapter = training.find((a) => a.task === task);
  return adapter === undefined ? undefined : measured(adapter.metrics.test_accuracy);
}

/** Normalized average per merge method, the kept method in bold, 100% marked. */
export function mergeNormalizedFigure(merge: MergeStep): Figure {
  const title = 'Merge methods: normalized average';
  const best = Math.max(...merge.rows.map((r) => measured(r.normalizedAverage) ?? -Infinity));
  const rows = merge.rows.map((r) => ({
    label: r.method,
    value: measured(r.normalizedAverage),
    emphasis: r.method === merge.method,
    color: r.method === merge.method ? THEME.accent : '#8fb0e8',
  }));
  return {
    file: 'merge-normalized.svg',
    title,
    caption: `Mean over tasks of merged accuracy divided by the task\u2019s own fine-tuned accuracy (100% = no loss from merging). The lifecycle kept ${merge.method}; the best method scored ${percent(Number.isFinite(best) ? best : NaN)}.`,
    svg: hbarChart({
      title,
      subtitle: 'merged accuracy / fine-tuned accuracy, averaged over tasks',
      rows,
      xLabel: 'normalized average accuracy',
      xKind: 'percent',
      valueLabel: (v) => percent(v),
      reference: { value: 1, label: 'fine-tuned' },
      emptyMessage: 'No merged models were scored',
      minHeight: THEME.height,
    }),
  };
}

/** Test accuracy per task, one bar per merge method plus the fine-tuned adapter alone. */
export function mergePerTaskFigure(merge: MergeStep, training: readonly TrainedAdapter[]): Figure {
  const title = 'Merge methods: accuracy per task';
  const tasks = mergeTasks(merge);
  const series = merge.rows.map((r) => ({ name: r.method, values: tasks.map((t) => measured(r.accuracy[t])) }));
  const reference = tasks.map((t) => fineTunedAccuracy(training, t));
  if (reference.some((v) => v !== undefined)) series.push({ name: 'fine-tuned (each task alone)', values: reference });
  return {
    file: 'merge-per-task.svg',
    title,
    caption: 'Test accuracy of each merged model on every task, beside the task\u2019s own fine-tuned adapter.',
    svg: barChart({
      title,
      categories: tasks,
      series: series.map((s, i) => (i === merge.rows.length ? { ...s, color: THEME.neutral } : s)),
      yLabel: 'test accuracy',
      yKind: 'percent',
      yBounds: [0, 1],
      valueLabel: (v) => percent(v, 0),
      emptyMessage: 'No per-task accuracies were recorded',
    }),
  };
}
