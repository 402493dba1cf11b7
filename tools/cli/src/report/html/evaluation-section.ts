import type { EvaluationStep } from '../../lifecycle/lifecycle-result';
import { measured, type Figure } from '../figures/figure';
import { MISSING, percent } from '../svg/format';
import { text } from '../svg/markup';
import { columns, facts, figures, section, table } from './blocks';
import { h } from './markup';
import { formatMetric, metricNames } from './training-section';

function gateBlock(gate: EvaluationStep['gate']): string {
  const decision = gate.decision === 'promoted' ? 'promoted' : 'rejected';
  const reasons =
    gate.reasons.length === 0 ? h('p', { class: 'none' }, text('No reasons were given.')) : h('ul', { class: 'reasons' }, ...gate.reasons.map((r) => h('li', {}, text(r))));
  return h(
    'div',
    { id: 'gate' },
    h('h3', {}, text('Promotion gate '), h('span', { class: `badge ${decision}` }, text(gate.decision))),
    facts([['rule', h('code', {}, text(gate.rule))]]),
    reasons,
  );
}

export function evaluationSection(evaluation: EvaluationStep, compatibility: Figure): string {
  const names = metricNames([evaluation.metrics]);
  const c = evaluation.compatibility;
  const metrics =
    names.length === 0
      ? h('p', { class: 'none' }, text('The evaluation reported no metrics.'))
      : table(
          [
            { header: 'metric', cell: (n: string) => text(n) },
            { header: 'value', numeric: true, cell: (n: string) => text(formatMetric(n, evaluation.metrics[n])) },
          ],
          names,
          { id: 'metrics-table' },
        );
  return section(
    'evaluation',
    'Evaluation and promotion',
    `The merged model was evaluated on ${evaluation.task} and compared sample by sample with the model it would replace.`,
    columns(
      figures(compatibility),
      gateBlock(evaluation.gate) +
        h('h3', {}, text('Compatibility')) +
        facts([
          ['old model', text(c.oldModel)],
          ['new model', text(c.newModel)],
          ['samples', text(String(measured(c.samples) ?? MISSING))],
          ['negative flip rate', text(percent(c.negativeFlipRate, 2))],
          ['positive flip rate', text(percent(c.positiveFlipRate, 2))],
        ]) +
        h('h3', {}, text('Metrics')) +
        metrics,
    ),
  );
}
