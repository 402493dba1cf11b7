import { promises as fs } from 'node:fs';
import { PatchworkError } from '@patchwork/errors';
import type {
  ConsumeOptions,
  DeadLetter,
  Delivery,
  EnqueueOptions,
  EnqueueResult,
  JobQueue,
  QueueConsumer,
  QueueSettings,
} from '../../ports';
import type { FabricLogger } from '../logger';
import { assertHeaders, assertQueueName } from '../names';
import { MAX_DELIVERIES_REASON, assertMsgId, assertNakDelay, assertReason, resolveConcurrency } from '../settings';
import { settleAfter } from '../settle';
import { QueueState, type QueuedMessage } from './queue-state';

export interface EmbeddedJobQueueOptions {
  dir: string;
  settings: QueueSettings;
  dedupWindowMs: number;
  maxPayloadBytes: number;
  logger: FabricLogger;
}

/**
 * The in-process job queue, with the semantics of a JetStream work queue consumed through one
 * durable pull consumer: at-least-once delivery, msgId dedup inside a window, redelivery when a
 * delivery is neither settled nor extended within ackWait, and dead-lettering after maxDeliver.
 */
export class EmbeddedJobQueue implements JobQueue {
  private readonly states = new Map<string, Promise<QueueState>>();
  private readonly consumers = new Map<QueueState, EmbeddedQueueConsumer[]>();
  private roundRobin = 0;
  private tokens = 0;
  private closed = false;

  constructor(private readonly options: EmbeddedJobQueueOptions) {}

  async enqueue(queue: string, data: Uint8Array, options: EnqueueOptions): Promise<EnqueueResult> {
    this.assertOpen();
    assertQueueName(queue);
    assertMsgId(options?.msgId);
    assertHeaders(options.headers);
    if (!(data instanceof Uint8Array)) throw new PatchworkError('INVALID_ARGUMENT', 'data: must be a Uint8Array');
    if (data.length > this.options.maxPayloadBytes) {
      throw new PatchworkError(
        'RESOURCE_EXHAUSTED',
        `job payload of ${data.length} bytes exceeds ${this.options.maxPayloadBytes}; store large inputs as blobs and enqueue their digest`,
      );
    }
    const state = await this.state(queue);
    const now = Date.now();
    state.pruneDedup(now);
    if (state.dedup.has(options.msgId)) return { duplicate: true };
    state.dedup.set(options.msgId, now + this.options.dedupWindowMs);
    const seq = state.nextSeq++;
    state.messages.set(seq, {
      seq,
      data: Uint8Array.from(data),
      headers: { ...(options.headers ?? {}) },
      deliveries: 0,
      availableAt: now,
      lease: null,
    });
    this.dispatch(state);
    await state.file.commit();
    return { duplicate: false };
  }

  async consume(queue: string, handler: (delivery: Delivery) => Promise<void>, options: ConsumeOptions = {}): Promise<QueueConsumer> {
    this.assertOpen();
    assertQueueName(queue);
    const concurrency = resolveConcurrency(options.concurrency);
    if (typeof handler !== 'function') throw new PatchworkError('INVALID_ARGUMENT', 'handler: must be a function');
    const state = await this.state(queue);
    const consumer = new EmbeddedQueueConsumer(concurrency, handler, this.options.logger, queue, () => this.detach(state, consumer));
    if (options.signal?.aborted) return consumer;
    this.consumers.set(state, [...(this.consumers.get(state) ?? []), consumer]);
    options.signal?.addEventListener('abort', () => void consumer.stop(), { once: true });
    consumer.onIdleSlot = () => this.dispatch(state);
    this.dispatch(state);
    return consumer;
  }

  async deadLetters(queue: string): Promise<DeadLetter[]> {
    this.assertOpen();
    assertQueueName(queue);
    const state = await this.state(queue);
    return state.deadLetters.map((d) => ({ ...d, data: d.data.slice(), headers: { ...d.headers } }));
  }

  async pending(queue: string): Promise<number> {
    this.assertOpen();
    assertQueueName(queue);
    return (await this.state(queue)).messages.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.consumers.values()].flat();
    await Promise.all(all.map((c) => c.stop()));
    const states = (await Promise.allSettled(this.states.values())).flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    for (const state of states) {
      if (state.wakeTimer) clearTimeout(state.wakeTimer);
      for (const m of state.messages.values()) if (m.lease) clearTimeout(m.lease.timer);
    }
    await Promise.all(states.map((s) => s.file.commit()));
  }

  private state(queue: string): Promise<QueueState> {
    let state = this.states.get(queue);
    if (!state) {
      state = fs.mkdir(this.options.dir, { recursive: true }).then(async () => {
        const loaded = await QueueState.open(this.options.dir, queue);
        // A message at its last delivery when the process died has used up its deliveries.
        const exhausted = [...loaded.messages.values()].filter((m) => m.deliveries >= this.options.settings.maxDeliver);
        for (const m of exhausted) loaded.bury(m, MAX_DELIVERIES_REASON);
        if (exhausted.length > 0) await loaded.file.commit();
        return loaded;
      });
      this.states.set(queue, state);
      state.catch(() => this.states.delete(queue));
    }
    return state;
  }

  private detach(state: QueueState, consumer: EmbeddedQueueConsumer): void {
    this.consumers.set(state, (this.consumers.get(state) ?? []).filter((c) => c !== consumer));
  }

  /** Hands deliverable messages, oldest first, to consumers with a free slot (round robin). */
  private dispatch(state: QueueState): void {
    if (this.closed) return;
    if (state.wakeTimer) {
      clearTimeout(state.wakeTimer);
      state.wakeTimer = null;
    }
    const consumers = this.consumers.get(state) ?? [];
    if (consumers.length === 0) return;
    const now = Date.now();
    let wakeAt = Infinity;
    for (const message of state.messages.values()) {
      if (message.lease) continue;
      if (message.availableAt > now) {
        wakeAt = Math.min(wakeAt, message.availableAt);
        continue;
      }
      const consumer = this.pickConsumer(consumers);
      if (!consumer) break;
      this.deliver(state, message, consumer);
    }
    if (wakeAt !== Infinity) state.wakeTimer = setTimeout(() => this.dispatch(state), wakeAt - now);
  }

  private pickConsumer(consumers: EmbeddedQueueConsumer[]): EmbeddedQueueConsumer | null {
    for (let i = 0; i < consumers.length; i++) {
      const c = consumers[(this.roundRobin + i) % consumers.length];
      if (c.hasFreeSlot()) {
        this.roundRobin = (this.roundRobin + i + 1) % consumers.length;
        return c;
      }
    }
    return null;
  }

  private deliver(state: QueueState, message: QueuedMessage, consumer: EmbeddedQueueConsumer): void {
    message.deliveries++;
    const token = ++this.tokens;
    message.lease = { token, timer: setTimeout(() => this.expire(state, message, token), this.options.settings.ackWaitMs) };
    // The delivery count must survive a crash, or a job that kills its worker would loop forever.
    void state.file.commit();
    consumer.run(new EmbeddedDelivery(this.leaseOps(state, message, token), message));
  }

  private expire(state: QueueState, message: QueuedMessage, token: number): void {
    if (message.lease?.token !== token) return;
    message.lease = null;
    this.retryOrBury(state, message, 0);
  }

  private retryOrBury(state: QueueState, message: QueuedMessage, delayMs: number): void {
    if (message.deliveries >= this.options.settings.maxDeliver) {
      state.bury(message, MAX_DELIVERIES_REASON);
    } else {
      message.availableAt = Date.now() + delayMs;
    }
    void state.file.commit();
    this.dispatch(state);
  }

  private leaseOps(state: QueueState, message: QueuedMessage, token: number): LeaseOps {
    const isCurrent = () => message.lease?.token === token;
    const release = () => {
      if (message.lease) clearTimeout(message.lease.timer);
      message.lease = null;
    };
    return {
      extend: () => {
        if (!isCurrent() || this.closed) return;
        clearTimeout(message.lease!.timer);
        message.lease = { token, timer: setTimeout(() => this.expire(state, message, token), this.options.settings.ackWaitMs) };
      },
      // An ack or dead letter from a delivery that already timed out still settles the message,
      // as a late ack does on JetStream; a stale nak changes nothing.
      ack: async () => {
        if (state.messages.get(message.seq) !== message) return;
        release();
        state.messages.delete(message.seq);
        await state.file.commit();
      },
      nak: (delayMs) => {
        if (!isCurrent()) return;
        release();
        this.retryOrBury(state, message, delayMs);
      },
      deadLetter: async (reason) => {
        if (state.messages.get(message.seq) !== message) return;
        release();
        state.bury(message, reason);
        await state.file.commit();
      },
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new PatchworkError('FAILED_PRECONDITION', 'the job queue is closed');
  }
}

interface LeaseOps {
  extend(): void;
  ack(): Promise<void>;
  nak(delayMs: number): void;
  deadLetter(reason: string): Promise<void>;
}

class EmbeddedDelivery implements Delivery {
  settled = false;
  readonly data: Uint8Array;
  readonly headers: Record<string, string>;
  readonly deliveryCount: number;

  constructor(
    private readonly ops: LeaseOps,
    message: QueuedMessage,
  ) {
    this.data = message.data.slice();
    this.headers = { ...message.headers };
    this.deliveryCount = message.deliveries;
  }

  working(): void {
    if (!this.settled) this.ops.extend();
  }

  async ack(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await this.ops.ack();
  }

  nak(delayMs?: number): void {
    const delay = assertNakDelay(delayMs);
    if (this.settled) return;
    this.settled = true;
    this.ops.nak(delay);
  }

  async deadLetter(reason: string): Promise<void> {
    const normalized = assertReason(reason);
    if (this.settled) return;
    this.settled = true;
    await this.ops.deadLetter(normalized);
  }
}

class EmbeddedQueueConsumer implements QueueConsumer {
  onIdleSlot: () => void = () => undefined;
  private active = 0;
  private stopping = false;
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly concurrency: number,
    private readonly handler: (delivery: Delivery) => Promise<void>,
    private readonly logger: FabricLogger,
    private readonly queue: string,
    private readonly detach: () => void,
  ) {}

  hasFreeSlot(): boolean {
    return !this.stopping && this.active < this.concurrency;
  }

  run(delivery: EmbeddedDelivery): void {
    this.active++;
    // Started on a later microtask so a handler that settles synchronously never re-enters dispatch.
    const task = Promise.resolve()
      .then(() => settleAfter(this.handler, delivery, this.logger, this.queue))
      .finally(() => {
        this.active--;
        this.running.delete(task);
        this.onIdleSlot();
      });
    this.running.add(task);
  }

  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.detach();
    }
    await Promise.all([...this.running]);
  }
}
