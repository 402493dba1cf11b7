import type { Delivery } from '../ports';
import { errorFields, type FabricLogger } from './logger';

export interface SettleableDelivery extends Delivery {
  /** True once ack, nak or deadLetter was called. */
  readonly settled: boolean;
}

/** Runs a handler; a throw, or a return without settling, becomes a nak (a retry). */
export async function settleAfter<D extends SettleableDelivery>(
  handler: (delivery: D) => Promise<void>,
  delivery: D,
  logger: FabricLogger,
  queue: string,
): Promise<void> {
  try {
    await handler(delivery);
  } catch (err) {
    if (!delivery.settled) {
      logger.warn({ queue, deliveryCount: delivery.deliveryCount, ...errorFields(err) }, 'job handler threw; the job will be retried');
      delivery.nak();
    } else {
      logger.error({ queue, ...errorFields(err) }, 'job handler threw after settling its delivery');
    }
    return;
  }
  if (!delivery.settled) {
    logger.warn({ queue, deliveryCount: delivery.deliveryCount }, 'job handler returned without settling its delivery; the job will be retried');
    delivery.nak();
  }
}
