import { type Attrs, openTag } from '../svg/markup';

/** HTML elements that have no end tag. */
const VOID = new Set(['img', 'meta', 'br', 'hr', 'link']);

/**
 * One HTML element, written so it is also well-formed XML (void elements self-close, every other
 * element gets its end tag even when empty: `<td/>` would leave the cell open in HTML).
 */
export function h(tag: string, attrs: Attrs = {}, ...children: readonly string[]): string {
  const open = openTag(tag, attrs);
  if (VOID.has(tag)) return `${open}/>`;
  return `${open}>${children.join('')}</${tag}>`;
}
