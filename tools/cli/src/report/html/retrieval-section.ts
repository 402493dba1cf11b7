import type { LifecycleResult } from '../../lifecycle/lifecycle-result';
import type { Figure } from '../figures/figure';
import { measured } from '../figures/figure';
import { artifactLabel } from '../figures/retrieval-figure';
import { percent } from '../svg/format';
import { text } from '../svg/markup';
import { columns, digest, figures, section, table } from './blocks';

export function retrievalSection(result: LifecycleResult, figure: Figure): string {
  const routes = Object.entries(result.retrieval.routes);
  const total = routes.reduce((n, [, v]) => n + (measured(v) ?? 0), 0);
  const routeTable =
    routes.length === 0
      ? ''
      : table(
          [
            { header: 'routed to', cell: ([d]: [string, number]) => text(artifactLabel(result, d)) },
            { header: 'artifact', cell: ([d]: [string, number]) => digest(d) },
            { header: 'inputs', numeric: true, cell: ([, n]: [string, number]) => text(String(measured(n) ?? '\u2013')) },
            { header: 'share', numeric: true, cell: ([, n]: [string, number]) => text(percent(total > 0 ? (measured(n) ?? NaN) / total : NaN)) },
          ],
          routes,
          { id: 'routes-table' },
        );
  return section('retrieval', 'Retrieval', 'Unlabelled inputs were matched to the closest adapter and predicted through it.', columns(figures(figure), routeTable));
}
