import type { CompressStep } from '../../lifecycle/lifecycle-result';
import { hbarChart } from '../charts/hbar-chart';
import { decimal, percent } from '../svg/format';
import { THEME } from '../svg/theme';
import { measured, type Figure } from './figure';

function isIndex(segment: string): boolean {
  return segment.length > 0 && [...segment].every((ch) => ch >= '0' && ch <= '9');
}

/**
 * The dotted path all module names share (`bert.encoder.layer.`), so the chart can label rows
 * by what differs. Empty for fewer than two names; never swallows a whole name.
 */
export function sharedModulePrefix(names: readonly string[]): string {
  if (names.length < 2) return '';
  const split = names.map((n) => n.split('.'));
  const shortest = Math.min(...split.map((s) => s.length));
  let common = 0;
  while (common < shortest - 1 && split.every((s) => s[common] === split[0][common])) common++;
  // `layer.0.query` reads better than `0.query`: keep the name an index belongs to.
  if (common > 0 && split.some((s) => isIndex(s[common]))) common--;
  return common === 0 ? '' : `${split[0].slice(0, common).join('.')}.`;
}

/** Relative reconstruction error per factored layer, in model order, with each layer's rank. */
export function compressFigure(compress: CompressStep): Figure {
  const title = 'Compression: reconstruction error per layer';
  const errors = compress.layers.map((l) => measured(l.relError)).filter((v): v is number => v !== undefined);
  const worst = errors.length === 0 ? undefined : Math.max(...errors);
  const mean = errors.length === 0 ? undefined : errors.reduce((a, b) => a + b, 0) / errors.length;
  const prefix = sharedModulePrefix(compress.layers.map((l) => l.module));
  return {
    file: 'compress-layers.svg',
    title,
    caption:
      compress.layers.length === 0
        ? 'No layers were factored.'
        : `Relative Frobenius error \u2016W \u2212 AB\u2016 / \u2016W\u2016 of each factored layer at the rank shown; mean ${percent(mean ?? NaN)}, worst ${percent(worst ?? NaN)}.`,
    svg: hbarChart({
      title,
      subtitle: `\u03b3 = ${decimal(compress.gamma)} \u00b7 ${compress.layers.length} factored layers${prefix === '' ? '' : ` under ${prefix}`}`,
      rows: compress.layers.map((l) => ({ label: l.module.slice(prefix.length), value: measured(l.relError), note: `r = ${measured(l.rank) ?? '\u2013'}`, color: THEME.accent })),
      xLabel: 'relative reconstruction error',
      xKind: 'percent',
      valueLabel: (v) => percent(v),
      emptyMessage: 'No layers were factored',
    }),
  };
}
