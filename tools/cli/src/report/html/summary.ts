import type { LifecycleResult } from '../../lifecycle/lifecycle-result';
import { measured } from '../figures/figure';
import { fractionOf } from '../figures/retrieval-figure';
import { count, duration, MISSING, percent } from '../svg/format';
import { text } from '../svg/markup';
import { h } from './markup';

function tile(label: string, value: string, detail: string, id: string): string {
  return h('div', { class: 'tile', 'data-tile': id }, h('div', { class: 'label' }, text(label)), h('div', { class: 'value' }, value), h('div', { class: 'detail' }, text(detail)));
}

/** The page heading and one tile per stage: what a reader needs before any chart. */
export function summary(result: LifecycleResult): string {
  const gate = result.evaluation.gate;
  const kept = result.merge.rows.find((r) => r.method === result.merge.method);
  const c = result.evaluation.compatibility;
  const r = result.retrieval;
  const ratio = result.compress.paramsBefore > 0 ? result.compress.paramsAfter / result.compress.paramsBefore : NaN;
  const header = h(
    'header',
    { class: 'top' },
    h('h1', {}, h('span', { class: 'brand' }, 'Patchwork'), text(' lifecycle report')),
    h(
      'div',
      { class: 'meta' },
      h('span', {}, text(`started ${result.startedAt}`)),
      h('span', {}, text(`finished ${result.finishedAt}`)),
      h('span', {}, text(`fabric: ${result.fabric}`)),
      h('span', {}, text(`backbone: ${result.backbone.name}`)),
    ),
  );
  const tiles = h(
    'div',
    { class: 'tiles' },
    tile('Promotion gate', h('span', { class: `badge ${gate.decision === 'promoted' ? 'promoted' : 'rejected'}` }, text(gate.decision)), gate.rule, 'gate'),
    tile('Merged model', text(percent(kept?.normalizedAverage)), `${result.merge.method}, normalized average over ${Object.keys(kept?.accuracy ?? {}).length} tasks`, 'merge'),
    tile('Negative flips', text(percent(c.negativeFlipRate)), `accuracy ${percent(c.oldAccuracy)} \u2192 ${percent(c.newAccuracy)}`, 'compatibility'),
    tile('Routed correctly', text(percent(fractionOf(r.routedCorrectly, r.inputs) ?? NaN)), `predicted correctly ${percent(fractionOf(r.predictedCorrectly, r.inputs) ?? NaN)} of ${measured(r.inputs) ?? MISSING}`, 'retrieval'),
    tile('Parameters kept', text(percent(ratio)), `${count(result.compress.paramsBefore)} \u2192 ${count(result.compress.paramsAfter)} after compression`, 'compress'),
    tile('Total time', text(duration(result.seconds)), `${result.training.length} adapters, ${result.merge.rows.length} merge methods`, 'time'),
  );
  return header + tiles;
}
