import type { LifecycleResult } from '../../lifecycle/lifecycle-result';
import type { Figure } from '../figures/figure';
import { timedSteps, type TimedStep } from '../figures/timings-figure';
import { duration } from '../svg/format';
import { text } from '../svg/markup';
import { columns, figures, section, table } from './blocks';
import { h } from './markup';

export function timingsSection(result: LifecycleResult, figure: Figure): string {
  return section(
    'timings',
    'Timings',
    `Started ${result.startedAt}, finished ${result.finishedAt}, ${duration(result.seconds)} in all on the ${result.fabric} fabric.`,
    columns(
      figures(figure),
      table(
      [
        { header: 'step', cell: (s: TimedStep) => text(s.step) },
        { header: 'job', cell: (s: TimedStep) => h('code', {}, text(s.jobId)) },
        { header: 'wall time', numeric: true, cell: (s: TimedStep) => text(duration(s.seconds)) },
      ],
      timedSteps(result),
        { id: 'timings-table' },
      ),
    ),
  );
}
