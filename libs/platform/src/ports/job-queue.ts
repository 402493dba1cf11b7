/**
 * A durable work queue with at-least-once delivery. Production: a JetStream work-queue stream
 * (`JOBS`, subjects `jobs.<queue>`) with one durable pull consumer per queue. Embedded: in-process.
 */
export interface EnqueueOptions {
  /** Idempotency key: a second enqueue with the same id inside the dedup window is dropped. */
  msgId: string;
  headers?: Record<string, string>;
}

export interface EnqueueResult {
  duplicate: boolean;
}

export interface Delivery {
  readonly data: Uint8Array;
  readonly headers: Record<string, string>;
  /** 1 on first delivery, incremented on every redelivery. */
  readonly deliveryCount: number;
  /** Extends the ack deadline; call periodically during long steps. */
  working(): void;
  /** Completes the message; resolves once the broker has confirmed it. */
  ack(): Promise<void>;
  /** Asks for redelivery after `delayMs` (a transient failure). */
  nak(delayMs?: number): void;
  /**
   * Gives up on the message for good: it is copied with `reason` to the dead-letter stream, then
   * removed from the queue. Resolves once both are done.
   */
  deadLetter(reason: string): Promise<void>;
}

export interface ConsumeOptions {
  /** Messages handled at once by this process. */
  concurrency?: number;
  signal?: AbortSignal;
}

export interface QueueConsumer {
  /** Stops pulling; resolves when in-flight handlers have finished. */
  stop(): Promise<void>;
}

export interface DeadLetter {
  queue: string;
  data: Uint8Array;
  headers: Record<string, string>;
  reason: string;
  deliveryCount: number;
  /** Wall-clock time the message was dead-lettered (ms since epoch). */
  at: number;
}

export interface QueueSettings {
  /** How long a delivery may go without ack/working() before redelivery. */
  ackWaitMs: number;
  /** Deliveries before the message is dead-lettered with reason `max deliveries exceeded`. */
  maxDeliver: number;
}

export interface JobQueue {
  enqueue(queue: string, data: Uint8Array, options: EnqueueOptions): Promise<EnqueueResult>;
  /** The handler must settle the delivery (ack / nak / deadLetter); a throw is treated as nak(). */
  consume(queue: string, handler: (delivery: Delivery) => Promise<void>, options?: ConsumeOptions): Promise<QueueConsumer>;
  /** Dead letters of one queue, oldest first. */
  deadLetters(queue: string): Promise<DeadLetter[]>;
  /** Messages waiting or in flight (what a KEDA trigger sees as lag). */
  pending(queue: string): Promise<number>;
  close(): Promise<void>;
}
