import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** Fully qualified names (`patchwork.v1.Merge`) of the gRPC services the .proto files in `dir` declare. */
export function protoServiceNames(dir: string): Set<string> {
  const names = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.proto'))) {
    // Comments could hide or fake a declaration; strip them before looking.
    const text = readFileSync(path.join(dir, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    const pkg = /^\s*package\s+([\w.]+)\s*;/m.exec(text)?.[1];
    for (const match of text.matchAll(/^\s*service\s+(\w+)\s*\{/gm)) names.add(pkg ? `${pkg}.${match[1]}` : match[1]);
  }
  return names;
}
