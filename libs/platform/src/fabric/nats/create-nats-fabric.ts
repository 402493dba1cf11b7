import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { StorageType } from '@nats-io/jetstream';
import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { Fabric, QueueSettings } from '../../ports';
import { silentLogger, type FabricLogger } from '../logger';
import { assertPrefix } from '../names';
import { resolveDedupWindow, resolveQueueSettings } from '../settings';
import { NatsBlobStore } from './blob-store';
import type { NatsContext } from './context';
import { fromNats } from './errors';
import { NatsEventBus } from './event-bus';
import { NatsJobQueue } from './job-queue';
import { NatsKeyValueStore } from './key-value';
import { blobStoreName } from './names';
import { ensureQueueStreams } from './streams';

export interface NatsFabricOptions {
  servers: string | string[];
  /** Connection name shown by the server's monitoring (the service name, say). */
  name?: string;
  token?: string;
  /** Namespaces every stream, consumer, bucket and subject ([A-Za-z0-9_-], default ''). */
  prefix?: string;
  queue?: Partial<QueueSettings>;
  /** Stream replicas for JOBS, DLQ, KV buckets and the blob store (1 to 5, default 1). */
  replicas?: number;
  /** JetStream `duplicate_window` of the JOBS stream (default 2 min). */
  dedupWindowMs?: number;
  /** How long the first connection attempt may take (default 10 s). */
  connectTimeoutMs?: number;
  logger?: FabricLogger;
}

async function open(options: NatsFabricOptions): Promise<NatsConnection> {
  try {
    return await connect({
      servers: options.servers,
      name: options.name,
      token: options.token,
      timeout: options.connectTimeoutMs ?? 10_000,
      // Once connected, ride out server restarts instead of failing every in-flight job.
      maxReconnectAttempts: -1,
    });
  } catch (err) {
    throw new PatchworkError('UNAVAILABLE', `cannot connect to NATS at ${String(options.servers)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Every port on NATS JetStream: the production fabric. */
export async function createNatsFabric(options: NatsFabricOptions): Promise<Fabric> {
  const servers = options?.servers;
  if (!(typeof servers === 'string' ? servers.length > 0 : Array.isArray(servers) && servers.length > 0)) {
    throw invalidArgument('servers', 'must name at least one NATS server');
  }
  const prefix = options.prefix ?? '';
  assertPrefix(prefix);
  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw invalidArgument('replicas', `must be an integer in [1, 5], got ${replicas}`);
  const settings = resolveQueueSettings(options.queue);
  const dedupWindowMs = resolveDedupWindow(options.dedupWindowMs);
  const logger = options.logger ?? silentLogger;

  const nc = await open(options);
  let ctx: NatsContext;
  let blobs: NatsBlobStore;
  try {
    const jsm = await jetstreamManager(nc);
    ctx = { nc, js: jsm.jetstream(), jsm, prefix, settings, replicas, dedupWindowMs, logger };
    await ensureQueueStreams(ctx);
    const store = await new Objm(ctx.js).create(blobStoreName(prefix), { storage: StorageType.File, replicas });
    blobs = new NatsBlobStore(store);
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw fromNats(err, 'setting up JetStream streams for the fabric');
  }

  const queue = new NatsJobQueue(ctx);
  const bus = new NatsEventBus(ctx);
  const kv = new NatsKeyValueStore(ctx);
  let closing: Promise<void> | null = null;

  return {
    kind: 'nats',
    queue,
    bus,
    kv,
    blobs,
    close() {
      // Consumers first (their handlers may still publish, ack or write), then drain the connection.
      closing ??= (async () => {
        await queue.close();
        await bus.close();
        await kv.close();
        await blobs.close();
        if (!nc.isClosed()) await nc.drain().catch((err) => logger.warn({ err: String(err) }, 'draining the NATS connection failed'));
      })();
      return closing;
    },
  };
}
