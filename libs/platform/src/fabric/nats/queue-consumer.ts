import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Delivery, QueueConsumer } from '../../ports';
import { errorFields } from '../logger';
import { MAX_DELIVERIES_REASON, assertNakDelay, assertReason } from '../settings';
import { settleAfter } from '../settle';
import type { NatsContext } from './context';
import type { NatsDeadLetters } from './dead-letters';
import { fromNats } from './errors';
import { fromNatsHeaders } from './headers';

/** How long one pull request waits on the server for a job before it is renewed. */
const PULL_EXPIRES_MS = 10_000;
const MAX_RETRY_DELAY_MS = 15_000;

class NatsDelivery implements Delivery {
  settled = false;
  readonly data: Uint8Array;
  readonly headers: Record<string, string>;
  readonly deliveryCount: number;

  constructor(
    private readonly msg: JsMsg,
    private readonly bury: (reason: string) => Promise<void>,
  ) {
    this.data = msg.data;
    this.headers = fromNatsHeaders(msg.headers);
    this.deliveryCount = msg.info.deliveryCount;
  }

  working(): void {
    if (!this.settled) this.msg.working();
  }

  async ack(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    try {
      await this.msg.ackAck();
    } catch (err) {
      throw fromNats(err, 'acknowledging a job');
    }
  }

  nak(delayMs?: number): void {
    const delay = assertNakDelay(delayMs);
    if (this.settled) return;
    this.settled = true;
    this.msg.nak(delay > 0 ? delay : undefined);
  }

  async deadLetter(reason: string): Promise<void> {
    const normalized = assertReason(reason);
    if (this.settled) return;
    this.settled = true;
    await this.bury(normalized);
  }
}

/**
 * Pulls jobs from the queue's durable consumer, one pull loop per concurrency slot. A slot asks
 * for one job only when it is free, so no job waits in a local buffer while its ack timer runs,
 * and a slow job never holds back jobs another replica could take.
 *
 * Max deliveries: the consumer allows `maxDeliver + 1` deliveries. A delivery numbered above
 * `maxDeliver` never reaches the handler; the slot that receives it moves it to the DLQ. So a job
 * whose worker is killed on every try is dead-lettered by the next worker that pulls it, and
 * `NatsDeadLetters.watchMaxDeliveries` covers the rare case where that last step dies too.
 */
export class NatsQueueConsumer implements QueueConsumer {
  private stopping = false;
  private readonly pulls = new Set<ConsumerMessages>();
  private readonly sleepers = new Set<() => void>();
  private readonly slots: Promise<void>[] = [];

  constructor(
    private readonly ctx: NatsContext,
    private readonly consumer: Consumer,
    private readonly queue: string,
    private readonly handler: (delivery: Delivery) => Promise<void>,
    private readonly deadLetters: NatsDeadLetters,
    private readonly onStopped: () => void,
  ) {}

  start(concurrency: number): void {
    for (let i = 0; i < concurrency; i++) this.slots.push(this.slot());
  }

  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      // Closing a pull request's inbox makes the server drop the request, so no job is sent to it.
      for (const pull of this.pulls) void pull.close();
      for (const wake of this.sleepers) wake();
    }
    await Promise.all(this.slots);
    this.onStopped();
  }

  private async slot(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      let msg: JsMsg | null = null;
      let pull: ConsumerMessages | undefined;
      try {
        pull = await this.consumer.fetch({ max_messages: 1, expires: PULL_EXPIRES_MS });
        this.pulls.add(pull);
        if (this.stopping) void pull.close();
        for await (const m of pull) msg = m;
        failures = 0;
      } catch (err) {
        if (this.stopping || this.ctx.nc.isClosed()) break;
        failures++;
        const delay = Math.min(MAX_RETRY_DELAY_MS, 250 * 2 ** Math.min(failures, 6));
        this.ctx.logger.warn({ queue: this.queue, failures, retryInMs: delay, ...errorFields(err) }, 'pulling jobs failed; retrying');
        await this.sleep(delay);
        continue;
      } finally {
        if (pull) this.pulls.delete(pull);
      }
      if (!msg) continue;
      if (this.stopping) {
        msg.nak(); // arrived while stopping: hand it straight to another worker
        break;
      }
      await this.process(msg);
    }
  }

  private async process(msg: JsMsg): Promise<void> {
    const bury = (reason: string, deliveries: number) =>
      this.deadLetters.bury(
        { queue: this.queue, seq: msg.seq, data: msg.data, headers: msg.headers, reason, deliveries },
        () => msg.term(),
      );
    const { maxDeliver } = this.ctx.settings;
    if (msg.info.deliveryCount > maxDeliver) {
      try {
        await bury(MAX_DELIVERIES_REASON, maxDeliver);
      } catch (err) {
        this.ctx.logger.error({ queue: this.queue, seq: msg.seq, ...errorFields(err) }, 'could not dead-letter a job that ran out of deliveries');
      }
      return;
    }
    const delivery = new NatsDelivery(msg, (reason) => bury(reason, msg.info.deliveryCount));
    await settleAfter(this.handler, delivery, this.ctx.logger, this.queue);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}
