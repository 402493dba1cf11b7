import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { mergeAdapterIntoModel } from '@patchwork/peft';
import type { Runtime } from '@patchwork/platform';
import { parseAdaptedRef } from './merge-request';

/** Content of the files of a path reference: a changed file must not hit a stale merge. */
async function fingerprint(ref: string, dir: string): Promise<string> {
  if (ref.startsWith('artifact:')) return ref;
  const parts = [ref];
  for (const name of (await fs.readdir(dir)).sort()) {
    const s = await fs.stat(path.join(dir, name));
    if (s.isFile()) parts.push(`${name}:${s.size}:${s.mtimeMs}`);
  }
  return parts.join('|');
}

/**
 * Resolves merge inputs, including models with an adapter merged in. Those are built once into
 * `<dataDir>/cache/adapted/<key>` (the key covers both inputs' contents), atomically, so the
 * submission's pre-flight and the job, and every redelivery of it, share one copy.
 */
export function mergeInputResolver(runtime: Runtime): (ref: string, field: string) => Promise<string> {
  return async (ref, field) => {
    const pair = parseAdaptedRef(ref);
    if (pair === undefined) return runtime.resolveModel(ref, field);
    const input = field.replace(/\.model$/, '');
    const modelDir = await runtime.resolveModel(pair.model, `${input}.model`);
    const adapterDir = await runtime.resolveModel(pair.adapter, `${input}.adapter`);
    const key = createHash('sha256')
      .update(`${await fingerprint(pair.model, modelDir)}\n${await fingerprint(pair.adapter, adapterDir)}`)
      .digest('hex');
    const dir = path.join(runtime.config.dataDir, 'cache', 'adapted', key);
    if (await fs.access(path.join(dir, 'config.json')).then(() => true, () => false)) return dir;
    const staging = `${dir}.${randomUUID()}.partial`;
    try {
      await mergeAdapterIntoModel({ modelDir, adapterDir, outDir: staging });
      await fs.rename(staging, dir).catch(async (e: NodeJS.ErrnoException) => {
        // Another submission built the same input first; theirs is identical.
        if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
      });
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
    return dir;
  };
}
