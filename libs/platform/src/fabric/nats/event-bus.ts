import type { Subscription } from '@nats-io/transport-node';
import { PatchworkError } from '@patchwork/errors';
import type { BusMessage, BusSubscription, EventBus } from '../../ports';
import { runEventHandler } from '../event-handler';
import { errorFields } from '../logger';
import { assertHeaders, assertPattern, assertSubject } from '../names';
import type { NatsContext } from './context';
import { fromNats } from './errors';
import { fromNatsHeaders, toNatsHeaders } from './headers';

/** Events on core NATS: at-most-once, no stream; anything durable belongs in KV or the queue. */
export class NatsEventBus implements EventBus {
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  constructor(private readonly ctx: NatsContext) {}

  async publish(subject: string, data: Uint8Array, headers?: Record<string, string>): Promise<void> {
    this.assertOpen();
    assertSubject(subject);
    assertHeaders(headers);
    try {
      this.ctx.nc.publish(subject, data, headers && Object.keys(headers).length > 0 ? { headers: toNatsHeaders(headers) } : undefined);
    } catch (err) {
      throw fromNats(err, `publishing ${subject}`);
    }
  }

  async subscribe(pattern: string, handler: (message: BusMessage) => void): Promise<BusSubscription> {
    this.assertOpen();
    assertPattern(pattern);
    let sub: Subscription;
    try {
      sub = this.ctx.nc.subscribe(pattern, {
        callback: (err, msg) => {
          if (err) {
            this.ctx.logger.error({ pattern, ...errorFields(err) }, 'event subscription failed');
            return;
          }
          runEventHandler(handler, { subject: msg.subject, data: msg.data, headers: fromNatsHeaders(msg.headers) }, pattern, this.ctx.logger);
        },
      });
      // Resolve only once the server knows the interest, so a publish right after is received.
      await this.ctx.nc.flush();
    } catch (err) {
      throw fromNats(err, `subscribing to ${pattern}`);
    }
    this.subscriptions.add(sub);
    return {
      unsubscribe: async () => {
        this.subscriptions.delete(sub);
        sub.unsubscribe();
        if (!this.ctx.nc.isClosed()) await this.ctx.nc.flush().catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const sub of this.subscriptions) sub.unsubscribe();
    this.subscriptions.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new PatchworkError('FAILED_PRECONDITION', 'the event bus is closed');
  }
}
