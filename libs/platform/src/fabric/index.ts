export { createEmbeddedFabric } from './embedded/create-embedded-fabric';
export type { EmbeddedFabricOptions } from './embedded/create-embedded-fabric';
export { createNatsFabric } from './nats/create-nats-fabric';
export type { NatsFabricOptions } from './nats/create-nats-fabric';
export {
  blobStoreName,
  dlqStreamName,
  dlqSubject,
  jobsStreamName,
  kvBucketName,
  queueConsumerName,
  queueSubject,
} from './nats/names';
export type { FabricLogger } from './logger';
export { subjectMatches } from './names';
export { DEFAULT_DEDUP_WINDOW_MS, DEFAULT_QUEUE_SETTINGS, MAX_DELIVERIES_REASON, resolveQueueSettings } from './settings';
export { deleteNatsNamespace } from './nats/delete-namespace';
