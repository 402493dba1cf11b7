import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { invalidArgument } from '@patchwork/errors';
import { streamNamePrefixes } from './names';

/**
 * Deletes every stream a fabric created under `prefix` (JOBS, DLQ, KV buckets, object stores;
 * consumers go with their streams). For throw-away namespaces: tests, benchmarks, a torn-down
 * preview deployment. An empty prefix is refused, as it would name production's streams.
 */
export async function deleteNatsNamespace(options: { servers: string | string[]; token?: string }, prefix: string): Promise<string[]> {
  if (!prefix) throw invalidArgument('prefix', 'must be non-empty: an empty prefix names the default deployment');
  const nc = await connect({ servers: options.servers, token: options.token });
  const deleted: string[] = [];
  try {
    const jsm = await jetstreamManager(nc);
    const heads = streamNamePrefixes(prefix);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) if (heads.some((h) => name.startsWith(h))) names.push(name);
    for (const name of names) {
      await jsm.streams.delete(name);
      deleted.push(name);
    }
  } finally {
    await nc.drain();
  }
  return deleted;
}
