import type { TrainedAdapter } from '../../lifecycle/lifecycle-result';
import { measured, type Figure } from '../figures/figure';
import { count, decimal, duration, percent } from '../svg/format';
import { text } from '../svg/markup';
import { digest, figures, section, table, type Column } from './blocks';

/** Metric names in a stable order: the usual ones first, then the rest alphabetically. */
export function metricNames(metrics: readonly Readonly<Record<string, number>>[]): string[] {
  const preferred = ['eval_accuracy', 'test_accuracy', 'train_loss', 'eval_loss'];
  const all = new Set(metrics.flatMap((m) => Object.keys(m)));
  return [...preferred.filter((k) => all.has(k)), ...[...all].filter((k) => !preferred.includes(k)).sort()];
}

/** Accuracies read as percentages, everything else as a plain number. */
export function formatMetric(name: string, value: number | undefined): string {
  return name.endsWith('accuracy') || name.endsWith('_rate') ? percent(value) : decimal(value, 4);
}

export function trainingSection(training: readonly TrainedAdapter[], loss: Figure, accuracy: Figure): string {
  const names = metricNames(training.map((a) => a.metrics));
  const columns: Column<TrainedAdapter>[] = [
    { header: 'task', cell: (a) => text(a.task) },
    { header: 'method', cell: (a) => text(a.method) },
    { header: 'adapter', cell: (a) => digest(a.digest) },
    { header: 'trainable', numeric: true, cell: (a) => text(count(a.trainableParameters)) },
    { header: 'steps', numeric: true, cell: (a) => text(String(measured(a.curve.at(-1)?.step) ?? 0)) },
    ...names.map((n) => ({ header: n.replace(/_/g, ' '), numeric: true, cell: (a: TrainedAdapter) => text(formatMetric(n, a.metrics[n])) })),
    { header: 'time', numeric: true, cell: (a) => text(duration(a.seconds)) },
  ];
  return section(
    'training',
    'Training',
    'One parameter-efficient adapter (LoRA) per task, trained on the backbone.',
    figures(loss, accuracy),
    training.length === 0 ? '' : table(columns, training, { id: 'training-table' }),
  );
}
