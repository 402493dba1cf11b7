import type { Fabric } from '@patchwork/platform/src/ports';
import { createNatsFabric, blobStoreName } from '@patchwork/platform/src/fabric';
import { fabricContract, type FabricHarness, type HarnessFabricOptions } from '@patchwork/platform/src/fabric/contract';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { natsUrl, prefixPool } from '../support/nats';

const prefixes = prefixPool();
const prefixOf = new WeakMap<Fabric, string>();

const open = async (prefix: string, options: HarnessFabricOptions = {}) => {
  const fabric = await createNatsFabric({ servers: natsUrl(), prefix, queue: options.queue, logger: options.logger, name: 'patchwork-integration' });
  prefixOf.set(fabric, prefix);
  return fabric;
};

const harness: FabricHarness = {
  name: 'nats',
  ackWaitMs: 1000,
  open: (options) => open(prefixes.next(), options),
  async reopen(fabric, options) {
    await fabric.close();
    return open(prefixOf.get(fabric)!, options);
  },
  // Replaces the object named `digest` with other bytes of the same length, as bit rot would.
  async corruptBlob(fabric, digest) {
    const nc = await connect({ servers: natsUrl() });
    try {
      const store = await new Objm(jetstream(nc)).open(blobStoreName(prefixOf.get(fabric)!));
      const bytes = await store.getBlob(digest);
      if (!bytes) throw new Error(`blob ${digest} is not stored`);
      bytes[bytes.length >> 1] ^= 0xff;
      await store.putBlob({ name: digest }, bytes);
    } finally {
      await nc.drain();
    }
  },
};

afterAll(() => prefixes.cleanup());

fabricContract(harness);
