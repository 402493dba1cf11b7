import { nanos } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, type Consumer, type ConsumerConfig } from '@nats-io/jetstream';
import { PatchworkError } from '@patchwork/errors';
import type { ConsumeOptions, DeadLetter, Delivery, EnqueueOptions, EnqueueResult, JobQueue, QueueConsumer } from '../../ports';
import { assertHeaders, assertQueueName } from '../names';
import { assertMsgId, resolveConcurrency } from '../settings';
import type { NatsContext } from './context';
import { NatsDeadLetters } from './dead-letters';
import { JsCodes, fromNats, jsApiCode } from './errors';
import { toNatsHeaders } from './headers';
import { jobsStreamName, queueConsumerName, queueSubject } from './names';
import { NatsQueueConsumer } from './queue-consumer';

/**
 * Jobs on the JetStream work-queue stream `<prefix>JOBS`, one subject and one durable pull
 * consumer per queue (see `names.ts`). Delivery, redelivery and dedup are the server's; this class
 * adds the dead-letter moves and the port's error codes.
 */
export class NatsJobQueue implements JobQueue {
  private readonly consumers = new Map<string, Promise<Consumer>>();
  private readonly running = new Set<NatsQueueConsumer>();
  private readonly deadLetterStore: NatsDeadLetters;
  private closed = false;

  constructor(private readonly ctx: NatsContext) {
    this.deadLetterStore = new NatsDeadLetters(ctx);
  }

  async enqueue(queue: string, data: Uint8Array, options: EnqueueOptions): Promise<EnqueueResult> {
    this.assertOpen();
    assertQueueName(queue);
    assertMsgId(options?.msgId);
    assertHeaders(options.headers);
    if (!(data instanceof Uint8Array)) throw new PatchworkError('INVALID_ARGUMENT', 'data: must be a Uint8Array');
    const maxPayload = this.ctx.nc.info?.max_payload ?? 1024 * 1024;
    if (data.length > maxPayload) {
      throw new PatchworkError(
        'RESOURCE_EXHAUSTED',
        `job payload of ${data.length} bytes exceeds the server's max_payload ${maxPayload}; store large inputs as blobs and enqueue their digest`,
      );
    }
    try {
      const ack = await this.ctx.js.publish(queueSubject(this.ctx.prefix, queue), data, {
        msgID: options.msgId,
        headers: toNatsHeaders(options.headers),
      });
      return { duplicate: ack.duplicate === true };
    } catch (err) {
      throw fromNats(err, `enqueueing a job on queue ${queue}`);
    }
  }

  async consume(queue: string, handler: (delivery: Delivery) => Promise<void>, options: ConsumeOptions = {}): Promise<QueueConsumer> {
    this.assertOpen();
    assertQueueName(queue);
    const concurrency = resolveConcurrency(options.concurrency);
    if (typeof handler !== 'function') throw new PatchworkError('INVALID_ARGUMENT', 'handler: must be a function');
    const consumer = await this.consumerOf(queue);
    this.deadLetterStore.watchMaxDeliveries(queue);
    const running = new NatsQueueConsumer(this.ctx, consumer, queue, handler, this.deadLetterStore, () => this.running.delete(running));
    if (options.signal?.aborted) return running;
    this.running.add(running);
    options.signal?.addEventListener('abort', () => void running.stop(), { once: true });
    running.start(concurrency);
    return running;
  }

  async deadLetters(queue: string): Promise<DeadLetter[]> {
    this.assertOpen();
    assertQueueName(queue);
    return this.deadLetterStore.list(queue);
  }

  /** What KEDA reads as lag: jobs not yet delivered plus jobs delivered but not yet settled. */
  async pending(queue: string): Promise<number> {
    this.assertOpen();
    assertQueueName(queue);
    const name = queueConsumerName(this.ctx.prefix, queue);
    for (let attempt = 0; ; attempt++) {
      await this.consumerOf(queue);
      try {
        const info = await this.ctx.jsm.consumers.info(jobsStreamName(this.ctx.prefix), name);
        return info.num_pending + info.num_ack_pending;
      } catch (err) {
        // Deleted behind our back (an operator, a test cleanup): recreate it once.
        if (jsApiCode(err) === JsCodes.consumerNotFound && attempt === 0) {
          this.consumers.delete(queue);
          continue;
        }
        throw fromNats(err, `reading the backlog of queue ${queue}`);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.running].map((c) => c.stop()));
    this.deadLetterStore.close();
  }

  private consumerOf(queue: string): Promise<Consumer> {
    let consumer = this.consumers.get(queue);
    if (!consumer) {
      consumer = this.ensureConsumer(queue);
      this.consumers.set(queue, consumer);
      consumer.catch(() => this.consumers.delete(queue));
    }
    return consumer;
  }

  private async ensureConsumer(queue: string): Promise<Consumer> {
    const stream = jobsStreamName(this.ctx.prefix);
    const name = queueConsumerName(this.ctx.prefix, queue);
    const { ackWaitMs, maxDeliver } = this.ctx.settings;
    const wanted: Partial<ConsumerConfig> = {
      durable_name: name,
      filter_subject: queueSubject(this.ctx.prefix, queue),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ackWaitMs),
      // One delivery more than handlers see: the extra one is where a job that exhausted its
      // tries is moved to the DLQ (see NatsQueueConsumer).
      max_deliver: maxDeliver + 1,
    };
    try {
      try {
        const info = await this.ctx.jsm.consumers.info(stream, name);
        if (info.config.ack_wait !== wanted.ack_wait || info.config.max_deliver !== wanted.max_deliver) {
          await this.ctx.jsm.consumers.update(stream, name, { ack_wait: wanted.ack_wait, max_deliver: wanted.max_deliver });
        }
      } catch (err) {
        if (jsApiCode(err) !== JsCodes.consumerNotFound) throw err;
        await this.ctx.jsm.consumers.add(stream, wanted);
      }
      return await this.ctx.js.consumers.get(stream, name);
    } catch (err) {
      throw fromNats(err, `setting up the consumer of queue ${queue}`);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new PatchworkError('FAILED_PRECONDITION', 'the job queue is closed');
  }
}
