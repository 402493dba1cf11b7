import type { BusMessage } from '../ports';
import { errorFields, type FabricLogger } from './logger';

/**
 * Calls a subscriber and logs its failure, synchronous or not: the port types handlers as
 * returning void, but an async one would otherwise turn a failure into an unhandled rejection.
 */
export function runEventHandler(
  handler: (message: BusMessage) => void,
  message: BusMessage,
  pattern: string,
  logger: FabricLogger,
): void {
  const fail = (err: unknown) => logger.error({ subject: message.subject, pattern, ...errorFields(err) }, 'event handler failed');
  try {
    const result: unknown = handler(message);
    if (result instanceof Promise) result.catch(fail);
  } catch (err) {
    fail(err);
  }
}
