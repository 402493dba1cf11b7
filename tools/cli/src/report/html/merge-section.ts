import type { MergeRow, MergeStep, TrainedAdapter } from '../../lifecycle/lifecycle-result';
import type { Figure } from '../figures/figure';
import { measured } from '../figures/figure';
import { fineTunedAccuracy, mergeTasks } from '../figures/merge-figures';
import { percent } from '../svg/format';
import { text } from '../svg/markup';
import { digest, figures, section, table, type Column } from './blocks';

interface TableRow {
  readonly method: string;
  readonly digest?: string;
  readonly accuracy: Readonly<Record<string, number | undefined>>;
  readonly normalizedAverage?: number;
  readonly reference: boolean;
}

/** The best finite value of a column over the merged rows (the reference row never wins). */
function best(rows: readonly MergeRow[], pick: (r: MergeRow) => unknown): number | undefined {
  const values = rows.map((r) => measured(pick(r))).filter((v): v is number => v !== undefined);
  return values.length === 0 ? undefined : Math.max(...values);
}

export function mergeSection(merge: MergeStep, training: readonly TrainedAdapter[], normalized: Figure, perTask: Figure): string {
  const tasks = mergeTasks(merge);
  const rows: TableRow[] = merge.rows.map((r) => ({ method: r.method, digest: r.digest, accuracy: r.accuracy, normalizedAverage: r.normalizedAverage, reference: false }));
  const reference = Object.fromEntries(tasks.map((t) => [t, fineTunedAccuracy(training, t)]));
  if (Object.values(reference).some((v) => v !== undefined)) rows.push({ method: 'fine-tuned (each task alone)', accuracy: reference, normalizedAverage: 1, reference: true });
  const bestTask = Object.fromEntries(tasks.map((t) => [t, best(merge.rows, (r) => r.accuracy[t])]));
  const bestNormalized = best(merge.rows, (r) => r.normalizedAverage);
  const isBest = (value: number | undefined, top: number | undefined, row: TableRow) => !row.reference && value !== undefined && value === top ? 'best' : undefined;
  const columns: Column<TableRow>[] = [
    { header: 'method', cell: (r) => text(r.method) },
    ...tasks.map((t) => ({
      header: t,
      numeric: true,
      cell: (r: TableRow) => text(percent(r.accuracy[t])),
      cellClass: (r: TableRow) => isBest(measured(r.accuracy[t]), bestTask[t], r),
    })),
    { header: 'normalized avg', numeric: true, cell: (r) => text(percent(r.normalizedAverage)), cellClass: (r) => isBest(measured(r.normalizedAverage), bestNormalized, r) },
    { header: 'model', cell: (r) => (r.digest === undefined ? '' : digest(r.digest)) },
  ];
  const rowClass = (r: TableRow) => (r.reference ? 'reference' : r.method === merge.method ? 'kept' : undefined);
  return section(
    'merge',
    'Merge comparison',
    `Each method merged the task adapters into one model, scored on every task\u2019s test split. The highlighted row (${merge.method}) is the model the rest of the lifecycle used; the best value in each column is bold.`,
    figures(normalized, perTask),
    table(columns, rows, { id: 'merge-table', rowClass }),
  );
}
