import { nanos } from '@nats-io/transport-node';
import { RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { DEFAULT_DEDUP_WINDOW_MS } from '../settings';
import type { NatsContext } from './context';
import { JsCodes, jsApiCode } from './errors';
import { dlqStreamName, jobsStreamName } from './names';

type StreamSpec = Partial<StreamConfig> & { name: string };

/**
 * Creates a stream, or brings the settings we own up to date on an existing one. Creating with an
 * identical config is idempotent on the server, so replicas starting together do not conflict.
 */
async function ensureStream(ctx: NatsContext, spec: StreamSpec, owned: Array<keyof StreamConfig>): Promise<void> {
  let info;
  try {
    info = await ctx.jsm.streams.info(spec.name);
  } catch (err) {
    if (jsApiCode(err) !== JsCodes.streamNotFound) throw err;
    await ctx.jsm.streams.add(spec);
    return;
  }
  const stale = owned.filter((k) => spec[k] !== undefined && info.config[k] !== spec[k]);
  if (stale.length > 0) {
    const patch = Object.fromEntries(stale.map((k) => [k, spec[k]]));
    await ctx.jsm.streams.update(spec.name, { ...info.config, ...patch });
  }
}

/** The JOBS work-queue stream and the DLQ stream. */
export async function ensureQueueStreams(ctx: NatsContext): Promise<void> {
  await ensureStream(
    ctx,
    {
      name: jobsStreamName(ctx.prefix),
      subjects: [`${ctx.prefix}jobs.>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      num_replicas: ctx.replicas,
      duplicate_window: nanos(ctx.dedupWindowMs),
    },
    ['duplicate_window'],
  );
  await ensureStream(
    ctx,
    {
      name: dlqStreamName(ctx.prefix),
      subjects: [`${ctx.prefix}dlq.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: ctx.replicas,
      // Direct get reads dead letters by subject without creating a consumer.
      allow_direct: true,
      duplicate_window: nanos(DEFAULT_DEDUP_WINDOW_MS),
    },
    ['allow_direct'],
  );
}
