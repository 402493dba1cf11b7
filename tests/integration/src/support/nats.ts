import { randomBytes } from 'node:crypto';
import { deleteNatsNamespace } from '@patchwork/platform';

/** The NATS server the integration tests use (shared with other test runs: always use a prefix). */
export function natsUrl(): string {
  return process.env['NATS_URL'] || 'nats://127.0.0.1:4222';
}

/**
 * A fresh namespace for one test's streams, consumers, buckets and object stores. It starts with
 * `it_` and a timestamp so leftovers of a crashed run are recognisable and their age visible.
 */
export function uniquePrefix(): string {
  return `it_${Date.now().toString(36)}${randomBytes(4).toString('hex')}_`;
}

/**
 * Deletes every stream created under `prefix`: the fabric's JOBS and DLQ (`<prefix>*`), its KV
 * buckets (`KV_<prefix>*`) and object stores (`OBJ_<prefix>*`); consumers go with their streams.
 * Returns the names deleted.
 */
export async function cleanupPrefix(prefix: string, url = natsUrl()): Promise<string[]> {
  if (!/^it_[a-z0-9]+_$/.test(prefix)) throw new Error(`refusing to clean up ${JSON.stringify(prefix)}: not a test prefix`);
  return deleteNatsNamespace({ servers: url }, prefix);
}

/** Collects prefixes handed out during a test file and deletes them all at the end. */
export function prefixPool(): { next(): string; cleanup(): Promise<void> } {
  const used = new Set<string>();
  return {
    next() {
      const p = uniquePrefix();
      used.add(p);
      return p;
    },
    async cleanup() {
      const all = [...used];
      used.clear();
      for (const p of all) await cleanupPrefix(p);
    },
  };
}
