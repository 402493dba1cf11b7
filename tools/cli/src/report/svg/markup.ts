import { PatchworkError } from '@patchwork/errors';
import { escapeXml } from './escape';

/** Attribute values; `undefined` leaves the attribute out. */
export type Attrs = Readonly<Record<string, string | number | undefined>>;

function isName(name: string): boolean {
  if (name.length === 0) return false;
  for (const ch of name) {
    const ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch === '-' || ch === ':' || ch === '_';
    if (!ok) return false;
  }
  return true;
}

/**
 * A coordinate or size as written into markup: two decimals keep files small and are far below
 * a pixel. A non-finite number here is a bug in a chart's scale, never data to draw, so it fails.
 */
export function coord(value: number): string {
  if (!Number.isFinite(value)) throw new PatchworkError('INTERNAL', `report: non-finite coordinate ${value}`);
  const rounded = Math.round(value * 100) / 100;
  return String(Object.is(rounded, -0) ? 0 : rounded);
}

/**
 * One element. Attribute values are always escaped; `children` are markup built by these helpers
 * (use `text` for anything that came from data), so escaping happens in exactly two places.
 */
export function el(tag: string, attrs: Attrs = {}, ...children: readonly string[]): string {
  const open = openTag(tag, attrs);
  return children.length === 0 ? `${open}/>` : `${open}>${children.join('')}</${tag}>`;
}

/** `<tag a="..."` without its closing bracket, shared by the SVG and HTML writers. */
export function openTag(tag: string, attrs: Attrs): string {
  if (!isName(tag)) throw new PatchworkError('INTERNAL', `report: bad tag name ${JSON.stringify(tag)}`);
  let open = `<${tag}`;
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    if (!isName(name)) throw new PatchworkError('INTERNAL', `report: bad attribute name ${JSON.stringify(name)}`);
    open += ` ${name}="${typeof value === 'number' ? coord(value) : escapeXml(value)}"`;
  }
  return open;
}

/** Text content from data, escaped. */
export function text(value: unknown): string {
  return escapeXml(value);
}

/** Shortens a label to `max` characters with an ellipsis; the full text belongs in a <title>. */
export function truncate(label: string, max: number): string {
  const chars = [...label];
  if (chars.length <= max) return label;
  return `${chars.slice(0, Math.max(1, max - 1)).join('')}\u2026`;
}

/** Shortens from the middle, keeping both ends: layer names differ at the start and the end. */
export function truncateMiddle(label: string, max: number): string {
  const chars = [...label];
  if (chars.length <= max) return label;
  const keep = Math.max(2, max - 1);
  const head = Math.ceil(keep * 0.4);
  return `${chars.slice(0, head).join('')}\u2026${chars.slice(chars.length - (keep - head)).join('')}`;
}
