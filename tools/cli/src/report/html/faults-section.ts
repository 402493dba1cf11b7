import type { FaultRecord } from '../../lifecycle/lifecycle-result';
import { text } from '../svg/markup';
import { section, table } from './blocks';
import { h } from './markup';

export function faultsSection(faults: readonly FaultRecord[]): string {
  const body =
    faults.length === 0
      ? h('p', { class: 'none', id: 'no-faults' }, text('No faults were injected in this run.'))
      : table(
          [
            { header: 'at', cell: (f: FaultRecord) => text(f.at) },
            { header: 'injected', cell: (f: FaultRecord) => text(f.injected) },
            { header: 'observed', cell: (f: FaultRecord) => text(f.observed) },
          ],
          faults,
          { id: 'faults-table' },
        );
  return section('faults', 'Faults', 'What was broken on purpose while the lifecycle ran, and what the system did about it.', body);
}
