/**
 * Behavioural contracts of the fabric ports, shared by the embedded unit tests and the NATS
 * integration tests. Test-only: it registers Jest suites and is not exported from the library.
 */
import { blobStoreContract } from './blob-store.contract';
import { eventBusContract } from './event-bus.contract';
import type { FabricHarness } from './harness';
import { jobQueueContract } from './job-queue.contract';
import { keyValueContract } from './key-value.contract';

export { blobStoreContract, eventBusContract, jobQueueContract, keyValueContract };
export type { FabricHarness, HarnessFabricOptions } from './harness';
export { collect, errorCodeOf, eventually, gate, sleep, text, untext } from './wait';

export function fabricContract(harness: FabricHarness): void {
  jobQueueContract(harness);
  eventBusContract(harness);
  keyValueContract(harness);
  blobStoreContract(harness);
}
