export type { BlobInfo, BlobStore } from './blob-store';
export type { BusMessage, BusSubscription, EventBus } from './event-bus';
export type {
  ConsumeOptions,
  DeadLetter,
  Delivery,
  EnqueueOptions,
  EnqueueResult,
  JobQueue,
  QueueConsumer,
  QueueSettings,
} from './job-queue';
export type { KeyValueBucket, KeyValueStore, KvChange, KvEntry } from './key-value';

/** Everything a service process needs from its environment, swapped as one (NATS or embedded). */
export interface Fabric {
  readonly kind: 'nats' | 'embedded';
  readonly queue: import('./job-queue').JobQueue;
  readonly bus: import('./event-bus').EventBus;
  readonly kv: import('./key-value').KeyValueStore;
  readonly blobs: import('./blob-store').BlobStore;
  close(): Promise<void>;
}
