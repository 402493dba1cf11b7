import * as path from 'node:path';
import { invalidArgument } from '@patchwork/errors';
import type { Fabric, QueueSettings } from '../../ports';
import { lockDataDir } from '../fs/data-dir-lock';
import { silentLogger, type FabricLogger } from '../logger';
import { DEFAULT_MAX_PAYLOAD_BYTES, resolveDedupWindow, resolveQueueSettings } from '../settings';
import { EmbeddedBlobStore } from './blob-store';
import { EmbeddedEventBus } from './event-bus';
import { EmbeddedJobQueue } from './job-queue';
import { EmbeddedKeyValueStore } from './key-value';

export interface EmbeddedFabricOptions {
  /** Root of everything the fabric stores: `kv/`, `queues/`, `blobs/`. Locked while open. */
  dataDir: string;
  queue?: Partial<QueueSettings>;
  /** How long a msgId suppresses duplicates (default 2 min, as JetStream's duplicate_window). */
  dedupWindowMs?: number;
  /** Largest job payload accepted (default 1 MiB, as NATS' max_payload). */
  maxPayloadBytes?: number;
  logger?: FabricLogger;
}

/**
 * Every port in one process, with state on the local disk: the default when no NATS is
 * configured, so one command runs the whole platform.
 */
export async function createEmbeddedFabric(options: EmbeddedFabricOptions): Promise<Fabric> {
  if (typeof options?.dataDir !== 'string' || options.dataDir.length === 0) {
    throw invalidArgument('dataDir', 'must be a non-empty directory path');
  }
  const settings = resolveQueueSettings(options.queue);
  const dedupWindowMs = resolveDedupWindow(options.dedupWindowMs);
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1) {
    throw invalidArgument('maxPayloadBytes', `must be a positive integer, got ${maxPayloadBytes}`);
  }
  const logger = options.logger ?? silentLogger;
  const root = path.resolve(options.dataDir);
  const unlock = await lockDataDir(root);

  const queue = new EmbeddedJobQueue({ dir: path.join(root, 'queues'), settings, dedupWindowMs, maxPayloadBytes, logger });
  const bus = new EmbeddedEventBus(logger);
  const kv = new EmbeddedKeyValueStore(path.join(root, 'kv'));
  const blobs = new EmbeddedBlobStore(path.join(root, 'blobs'));
  let closing: Promise<void> | null = null;

  return {
    kind: 'embedded',
    queue,
    bus,
    kv,
    blobs,
    close() {
      // Consumers first (their handlers may still write KV and blobs), then the stores.
      closing ??= (async () => {
        try {
          await queue.close();
          await bus.close();
          await kv.close();
          await blobs.close();
        } finally {
          await unlock();
        }
      })();
      return closing;
    },
  };
}
