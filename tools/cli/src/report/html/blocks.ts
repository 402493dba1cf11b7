import type { Figure } from '../figures/figure';
import { shortDigest } from '../svg/format';
import { text } from '../svg/markup';
import { h } from './markup';

export interface Column<Row> {
  readonly header: string;
  readonly numeric?: boolean;
  /** The cell's markup: wrap data in `text()`. */
  readonly cell: (row: Row, index: number) => string;
  readonly cellClass?: (row: Row, index: number) => string | undefined;
}

/** A table with a header row; `rowClass` marks rows such as the kept merge method. */
export function table<Row>(columns: readonly Column<Row>[], rows: readonly Row[], options: { caption?: string; rowClass?: (row: Row) => string | undefined; id?: string } = {}): string {
  const head = h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { class: c.numeric ? 'num' : undefined, scope: 'col' }, text(c.header)))));
  const body = h(
    'tbody',
    {},
    ...rows.map((row, i) =>
      h(
        'tr',
        { class: options.rowClass?.(row) },
        ...columns.map((c) => {
          const classes = [c.numeric ? 'num' : undefined, c.cellClass?.(row, i)].filter((x): x is string => x !== undefined);
          return h('td', { class: classes.length === 0 ? undefined : classes.join(' ') }, c.cell(row, i));
        }),
      ),
    ),
  );
  const caption = options.caption === undefined ? '' : h('caption', {}, text(options.caption));
  return h('div', { class: 'table-wrap' }, h('table', { id: options.id }, caption, head, body));
}

/** A figure file shown by relative path, so the report works from file:// and from any web server. */
export function figureBlock(figure: Figure): string {
  return h('figure', { 'data-figure': figure.file }, h('img', { src: `figures/${figure.file}`, alt: figure.title }), h('figcaption', {}, text(figure.caption)));
}

export function figures(...list: readonly Figure[]): string {
  return h('div', { class: 'figures' }, ...list.map(figureBlock));
}

/** Two columns side by side on wide screens, stacked on narrow ones. */
export function columns(...content: readonly string[]): string {
  return h('div', { class: 'columns' }, ...content.map((c) => h('div', {}, c)));
}

/** A section with a heading and an optional one-line explanation. */
export function section(id: string, title: string, lede: string | undefined, ...content: readonly string[]): string {
  return h('section', { id }, h('h2', {}, text(title)), lede === undefined ? '' : h('p', { class: 'lede' }, text(lede)), ...content);
}

/** Term/value pairs: values are markup (wrap data in `text()`). */
export function facts(pairs: readonly (readonly [string, string])[]): string {
  return h('dl', { class: 'facts' }, ...pairs.flatMap(([term, value]) => [h('dt', {}, text(term)), h('dd', {}, value)]));
}

/** A digest in monospace, shortened, with the full value as a tooltip. */
export function digest(value: string): string {
  return h('span', { class: 'digest', title: value }, text(shortDigest(value)));
}
