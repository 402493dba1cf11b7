import { ViolationCollector, invalidArgument } from '@patchwork/errors';
import type { QueueSettings } from '../ports';

export const DEFAULT_QUEUE_SETTINGS: Readonly<QueueSettings> = Object.freeze({ ackWaitMs: 30_000, maxDeliver: 5 });

/** NATS' default `duplicate_window`; the embedded queue uses the same. */
export const DEFAULT_DEDUP_WINDOW_MS = 120_000;

/** NATS' default `max_payload`: job payloads are references, large inputs travel as blobs. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** The dead-letter reason used when a message ran out of deliveries without a handler deciding. */
export const MAX_DELIVERIES_REASON = 'max deliveries exceeded';

export function resolveQueueSettings(partial: Partial<QueueSettings> | undefined, field = 'queue'): QueueSettings {
  const s = { ...DEFAULT_QUEUE_SETTINGS, ...(partial ?? {}) };
  const v = new ViolationCollector();
  // NATS counts ack_wait in nanoseconds and redelivers on a timer: below 100 ms it would spin.
  if (!Number.isInteger(s.ackWaitMs) || s.ackWaitMs < 100 || s.ackWaitMs > 24 * 3600_000) {
    v.add(`${field}.ackWaitMs`, `must be an integer number of ms in [100, 86400000], got ${s.ackWaitMs}`);
  }
  if (!Number.isInteger(s.maxDeliver) || s.maxDeliver < 1 || s.maxDeliver > 1000) {
    v.add(`${field}.maxDeliver`, `must be an integer in [1, 1000], got ${s.maxDeliver}`);
  }
  v.throwIfAny();
  return { ackWaitMs: s.ackWaitMs, maxDeliver: s.maxDeliver };
}

export function resolveDedupWindow(ms: number | undefined): number {
  const value = ms ?? DEFAULT_DEDUP_WINDOW_MS;
  if (!Number.isInteger(value) || value < 1000) {
    throw invalidArgument('dedupWindowMs', `must be an integer number of ms >= 1000, got ${value}`);
  }
  return value;
}

export function resolveConcurrency(concurrency: number | undefined): number {
  const value = concurrency ?? 1;
  if (!Number.isInteger(value) || value < 1 || value > 256) {
    throw invalidArgument('concurrency', `must be an integer in [1, 256], got ${value}`);
  }
  return value;
}

export function assertNakDelay(delayMs: number | undefined): number {
  const value = delayMs ?? 0;
  if (!Number.isFinite(value) || value < 0) throw invalidArgument('delayMs', `must be a finite number >= 0, got ${value}`);
  return Math.round(value);
}

export function assertMsgId(msgId: string): void {
  if (typeof msgId !== 'string' || msgId.length === 0 || msgId.length > 512 || /[\r\n]/.test(msgId)) {
    throw invalidArgument('msgId', 'must be a non-empty string of at most 512 characters without line breaks');
  }
}

export function assertReason(reason: string): string {
  if (typeof reason !== 'string' || reason.trim().length === 0) {
    throw invalidArgument('reason', 'a dead-letter reason must be a non-empty string');
  }
  // Reasons travel as a NATS header on the dead-letter record: one line, bounded.
  return reason.replace(/[\r\n]+/g, ' ').slice(0, 4096);
}
