import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Fabric } from '../../ports';
import { fabricContract, type FabricHarness, type HarnessFabricOptions } from '../contract';
import { createEmbeddedFabric } from './create-embedded-fabric';

const dirs = new WeakMap<Fabric, string>();
const created: string[] = [];

const open = async (dataDir: string, options: HarnessFabricOptions = {}) => {
  const fabric = await createEmbeddedFabric({ dataDir, queue: options.queue, logger: options.logger });
  dirs.set(fabric, dataDir);
  return fabric;
};

const harness: FabricHarness = {
  name: 'embedded',
  ackWaitMs: 300,
  async open(options) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pw-embedded-'));
    created.push(dir);
    return open(dir, options);
  },
  async reopen(fabric, options) {
    await fabric.close();
    return open(dirs.get(fabric)!, options);
  },
  async corruptBlob(fabric, digest) {
    const file = path.join(dirs.get(fabric)!, 'blobs', digest.slice(0, 2), digest);
    await fs.chmod(file, 0o644);
    const bytes = await fs.readFile(file);
    bytes[bytes.length >> 1] ^= 0xff;
    await fs.writeFile(file, bytes);
  },
};

afterAll(async () => {
  await Promise.all(created.map((d) => fs.rm(d, { recursive: true, force: true })));
});

fabricContract(harness);
