import { PatchworkError } from '@patchwork/errors';
import type { BusMessage, BusSubscription, EventBus } from '../../ports';
import { runEventHandler } from '../event-handler';
import type { FabricLogger } from '../logger';
import { assertHeaders, assertPattern, assertSubject, subjectMatches } from '../names';

interface Subscriber {
  pattern: string;
  handler: (message: BusMessage) => void;
}

/**
 * In-process pub/sub with NATS subject semantics. Delivery is asynchronous (a later macrotask),
 * like a network bus, so a publisher never runs subscriber code on its own stack, and every
 * subscriber gets its own copy of the bytes.
 */
export class EmbeddedEventBus implements EventBus {
  private readonly subscribers = new Set<Subscriber>();
  private closed = false;

  constructor(private readonly logger: FabricLogger) {}

  async publish(subject: string, data: Uint8Array, headers: Record<string, string> = {}): Promise<void> {
    this.assertOpen();
    assertSubject(subject);
    assertHeaders(headers);
    const targets = [...this.subscribers].filter((s) => subjectMatches(s.pattern, subject));
    if (targets.length === 0) return;
    const frozen = { ...headers };
    const payload = Uint8Array.from(data);
    setImmediate(() => {
      for (const target of targets) {
        if (!this.subscribers.has(target)) continue;
        runEventHandler(target.handler, { subject, data: payload.slice(), headers: { ...frozen } }, target.pattern, this.logger);
      }
    });
  }

  async subscribe(pattern: string, handler: (message: BusMessage) => void): Promise<BusSubscription> {
    this.assertOpen();
    assertPattern(pattern);
    const subscriber: Subscriber = { pattern, handler };
    this.subscribers.add(subscriber);
    return {
      unsubscribe: async () => {
        this.subscribers.delete(subscriber);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subscribers.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new PatchworkError('FAILED_PRECONDITION', 'the event bus is closed');
  }
}
