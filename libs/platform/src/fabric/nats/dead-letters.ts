import type { MsgHdrs, Subscription } from '@nats-io/transport-node';
import type { DeadLetter } from '../../ports';
import { errorFields } from '../logger';
import { MAX_DELIVERIES_REASON } from '../settings';
import type { NatsContext } from './context';
import { JsCodes, fromNats, jsApiCode } from './errors';
import { fromNatsHeaders, toNatsHeaders } from './headers';
import { dlqStreamName, dlqSubject, jobsStreamName, maxDeliveriesAdvisory, queueConsumerName } from './names';

const H = {
  reason: 'Patchwork-Dlq-Reason',
  deliveries: 'Patchwork-Dlq-Deliveries',
  at: 'Patchwork-Dlq-At',
  queue: 'Patchwork-Dlq-Queue',
} as const;

export interface BuryRequest {
  queue: string;
  /** Stream sequence of the job in JOBS: it names the dead letter, so a retried move stores it once. */
  seq: number;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
  reason: string;
  deliveries: number;
}

/**
 * Dead letters live in the DLQ stream, one subject per queue, each a copy of the job's payload and
 * headers plus the reason, delivery count and time as `Patchwork-Dlq-*` headers.
 */
export class NatsDeadLetters {
  private readonly advisories = new Map<string, Subscription>();

  constructor(private readonly ctx: NatsContext) {}

  /**
   * Copies a job to the DLQ, then removes it from JOBS. The copy comes first: a JetStream term on a
   * work queue drops the message at once and its advisory carries no payload.
   */
  async bury(request: BuryRequest, terminate?: () => void): Promise<void> {
    // The job's own headers without the broker's (`Nats-Msg-Id` would dedup the copy wrongly).
    const headers = toNatsHeaders(fromNatsHeaders(request.headers));
    headers.set(H.reason, request.reason);
    headers.set(H.deliveries, String(request.deliveries));
    headers.set(H.at, String(Date.now()));
    headers.set(H.queue, request.queue);
    try {
      await this.ctx.js.publish(dlqSubject(this.ctx.prefix, request.queue), request.data, {
        headers,
        msgID: `${request.queue}.${request.seq}`,
      });
    } catch (err) {
      throw fromNats(err, `dead-lettering a job of queue ${request.queue}`);
    }
    // term() makes the consumer forget the delivery but is fire-and-forget; the delete is what
    // confirms the job has left the work queue (whichever of the two lands first removes it).
    terminate?.();
    await this.removeJob(request.seq);
  }

  async list(queue: string): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    const stream = dlqStreamName(this.ctx.prefix);
    const subject = dlqSubject(this.ctx.prefix, queue);
    try {
      for (let seq = 1; ; ) {
        const m = await this.ctx.jsm.direct.getMessage(stream, { seq, next_by_subj: subject });
        if (!m) break;
        out.push({
          queue,
          data: m.data,
          headers: fromNatsHeaders(m.header),
          reason: m.header.get(H.reason),
          deliveryCount: Number(m.header.get(H.deliveries)),
          at: Number(m.header.get(H.at)),
        });
        seq = m.seq + 1;
      }
    } catch (err) {
      throw fromNats(err, `reading dead letters of queue ${queue}`);
    }
    return out;
  }

  /**
   * The backstop for a job whose last allowed delivery was never settled (its worker died while
   * dead-lettering it): JetStream then keeps it in JOBS without delivering it again and publishes an
   * advisory. One member of a queue group per fabric prefix moves it to the DLQ.
   */
  watchMaxDeliveries(queue: string): void {
    if (this.advisories.has(queue)) return;
    const stream = jobsStreamName(this.ctx.prefix);
    const subject = maxDeliveriesAdvisory(stream, queueConsumerName(this.ctx.prefix, queue));
    const sub = this.ctx.nc.subscribe(subject, {
      queue: `${this.ctx.prefix}patchwork-dlq`,
      callback: (err, msg) => {
        if (err) {
          this.ctx.logger.error({ queue, ...errorFields(err) }, 'max-deliveries advisory subscription failed');
          return;
        }
        void this.rescue(queue, msg.json<{ stream_seq: number; deliveries: number }>()).catch((e) =>
          this.ctx.logger.error({ queue, ...errorFields(e) }, 'could not dead-letter a job that ran out of deliveries'),
        );
      },
    });
    this.advisories.set(queue, sub);
  }

  close(): void {
    for (const sub of this.advisories.values()) sub.unsubscribe();
    this.advisories.clear();
  }

  private async rescue(queue: string, advisory: { stream_seq: number; deliveries: number }): Promise<void> {
    const stored = await this.ctx.jsm.streams.getMessage(jobsStreamName(this.ctx.prefix), { seq: advisory.stream_seq });
    if (!stored) return; // another member got there first
    await this.bury({
      queue,
      seq: advisory.stream_seq,
      data: stored.data,
      headers: stored.header,
      reason: MAX_DELIVERIES_REASON,
      // The consumer allows one delivery more than handlers see (see NatsQueueConsumer).
      deliveries: Math.max(1, advisory.deliveries - 1),
    });
  }

  private async removeJob(seq: number): Promise<void> {
    try {
      await this.ctx.jsm.streams.deleteMessage(jobsStreamName(this.ctx.prefix), seq, false);
    } catch (err) {
      if (isAlreadyGone(err)) return; // the term got there first
      throw fromNats(err, `removing dead-lettered job ${seq} from the work queue`);
    }
  }
}

/** nats-server answers a delete of a missing message with 10057 ("no message found", or "stream store EOF" past the end). */
function isAlreadyGone(err: unknown): boolean {
  const code = jsApiCode(err);
  if (code === JsCodes.noMessageFound) return true;
  return code === JsCodes.msgDeleteFailed && /no message found|EOF/i.test((err as Error).message);
}
