/**
 * Fire-and-forget events (`patchwork.<service>.<event>`). Events carry references, never tensors.
 * Subjects use NATS wildcards (`*` one token, `>` the rest) in both implementations.
 */
export interface BusMessage {
  subject: string;
  data: Uint8Array;
  headers: Record<string, string>;
}

export interface BusSubscription {
  unsubscribe(): Promise<void>;
}

export interface EventBus {
  publish(subject: string, data: Uint8Array, headers?: Record<string, string>): Promise<void>;
  subscribe(pattern: string, handler: (message: BusMessage) => void): Promise<BusSubscription>;
  close(): Promise<void>;
}
