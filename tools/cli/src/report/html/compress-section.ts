import type { CompressStep } from '../../lifecycle/lifecycle-result';
import type { Figure } from '../figures/figure';
import { count, decimal, percent } from '../svg/format';
import { text } from '../svg/markup';
import { columns, digest, facts, figures, section } from './blocks';

function ratio(after: number, before: number): string {
  return before > 0 && Number.isFinite(after / before) ? ` (${percent(after / before)})` : '';
}

export function compressSection(compress: CompressStep, backboneName: string, figure: Figure): string {
  return section(
    'compress',
    'Compression',
    `The backbone ${backboneName} was factored layer by layer into low-rank pairs before training.`,
    columns(
      figures(figure),
      facts([
      ['compressed model', digest(compress.digest)],
      ['\u03b3 (rank budget)', text(decimal(compress.gamma))],
      ['parameters', text(`${count(compress.paramsBefore)} \u2192 ${count(compress.paramsAfter)}${ratio(compress.paramsAfter, compress.paramsBefore)}`)],
      ['FLOPs per token', text(`${count(compress.flopsPerTokenBefore)} \u2192 ${count(compress.flopsPerTokenAfter)}${ratio(compress.flopsPerTokenAfter, compress.flopsPerTokenBefore)}`)],
        ['factored layers', text(String(compress.layers.length))],
      ]),
    ),
  );
}
