import type { Fabric, QueueSettings } from '../../ports';
import type { FabricLogger } from '../logger';
import { gate, type Gate } from './wait';

export interface HarnessFabricOptions {
  queue?: Partial<QueueSettings>;
  logger?: FabricLogger;
}

/**
 * How a contract suite reaches one implementation. Every `open` returns an isolated fabric (its
 * own data dir or its own NATS prefix); the harness owns any cleanup beyond `fabric.close()`.
 */
export interface FabricHarness {
  readonly name: string;
  /** The ackWait used by redelivery tests: short, but long enough for the transport. */
  readonly ackWaitMs: number;
  open(options?: HarnessFabricOptions): Promise<Fabric>;
  /** Closes `fabric` and opens a new one on the same storage, as a restarted process would. */
  reopen(fabric: Fabric, options?: HarnessFabricOptions): Promise<Fabric>;
  /** Damages the stored bytes of blob `digest` (same length, different content). */
  corruptBlob(fabric: Fabric, digest: string): Promise<void>;
}

/**
 * Opens fabrics for one test, closes whatever is still open after it, and fails the test if a
 * fabric logged an error: background failures (a dead-letter move that threw) have no caller
 * to reject, so the log is where they would otherwise hide.
 */
export function fabricPool(harness: FabricHarness) {
  const open = new Set<Fabric>();
  const gates: Gate[] = [];
  let errors: string[] = [];
  const logger: FabricLogger = {
    warn: () => undefined,
    error: (fields, message) => errors.push(`${message} ${JSON.stringify(fields)}`),
  };
  afterEach(async () => {
    // A failed test may leave a handler parked on a gate; close() waits for handlers.
    for (const g of gates.splice(0)) g.open();
    const all = [...open];
    open.clear();
    await Promise.allSettled(all.map((f) => f.close()));
    const logged = errors;
    errors = [];
    expect(logged).toEqual([]);
  });
  return {
    /** A gate that is opened after the test at the latest. */
    gate(): Gate {
      const g = gate();
      gates.push(g);
      return g;
    },
    async open(options?: HarnessFabricOptions): Promise<Fabric> {
      const fabric = await harness.open({ logger, ...options });
      open.add(fabric);
      return fabric;
    },
    async reopen(fabric: Fabric, options?: HarnessFabricOptions): Promise<Fabric> {
      open.delete(fabric);
      const next = await harness.reopen(fabric, { logger, ...options });
      open.add(next);
      return next;
    },
  };
}
