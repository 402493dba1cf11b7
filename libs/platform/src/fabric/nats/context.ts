import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { QueueSettings } from '../../ports';
import type { FabricLogger } from '../logger';

/** What every NATS-backed port shares: one connection, resolved settings, the namespace prefix. */
export interface NatsContext {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly prefix: string;
  readonly settings: QueueSettings;
  readonly replicas: number;
  readonly dedupWindowMs: number;
  readonly logger: FabricLogger;
}
