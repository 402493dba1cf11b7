/**
 * JSON.parse keeps the last of two equal keys silently; a safetensors header with a duplicated
 * tensor name is ambiguous (two readers may disagree on which tensor it means), so it is refused.
 * This scan runs after JSON.parse succeeded, so it only has to track strings and nesting.
 * Returns the first duplicated key with its path, or undefined.
 */
export function findDuplicateKey(text: string): string | undefined {
  // For each open container: null for arrays, else the keys seen and whether a key comes next.
  const stack: Array<{ keys: Set<string>; expectKey: boolean; path: string } | null> = [];
  let lastKey = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
      const top = stack[stack.length - 1];
      if (top && top.expectKey) {
        const raw = text.slice(start, i + 1);
        const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.keys.has(key)) return top.path === '' ? key : `${top.path}.${key}`;
        top.keys.add(key);
        top.expectKey = false;
        lastKey = key;
      }
    } else if (c === 0x7b /* { */) {
      const parent = stack[stack.length - 1];
      const path = parent ? (parent.path === '' ? lastKey : `${parent.path}.${lastKey}`) : '';
      stack.push({ keys: new Set(), expectKey: true, path });
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top) top.expectKey = true;
    }
  }
  return undefined;
}
