import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAX_DELIVERIES_REASON } from '../settings';
import { errorCodeOf, eventually, gate, text, untext } from '../contract/wait';
import { createEmbeddedFabric } from './create-embedded-fabric';

describe('embedded fabric durability', () => {
  let root: string;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'pw-embedded-dur-'));
  });
  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('locks its data dir against a second fabric, and takes over a lock left by a dead process', async () => {
    const dir = path.join(root, 'data');
    const fabric = await createEmbeddedFabric({ dataDir: dir });
    expect(await errorCodeOf(createEmbeddedFabric({ dataDir: dir }))).toBe('FAILED_PRECONDITION');
    await fabric.close();
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
    await fs.writeFile(path.join(dir, 'LOCK'), `${deadPid}\n`);
    const again = await createEmbeddedFabric({ dataDir: dir });
    expect(await fs.readFile(path.join(dir, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`);
    await again.close();
    await expect(fs.access(path.join(dir, 'LOCK'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  /** Copies a live data dir, as the disk would look if the process were killed now. */
  async function crashCopy(from: string, to: string): Promise<void> {
    await fs.cp(from, to, { recursive: true, filter: (src) => path.basename(src) !== 'LOCK' });
  }

  it('after a crash, redelivers a job that was in flight with its delivery count intact', async () => {
    const live = path.join(root, 'live');
    const fabric = await createEmbeddedFabric({ dataDir: live, queue: { ackWaitMs: 60_000, maxDeliver: 2 } });
    const hold = gate();
    await fabric.queue.enqueue('train', text('epoch-1'), { msgId: 'e1' });
    const consumer = await fabric.queue.consume('train', () => hold.promise);
    const queueFile = path.join(live, 'queues', 'train.json');
    await eventually(async () => expect(JSON.parse(await fs.readFile(queueFile, 'utf8')).messages[0].deliveries).toBe(1));
    await crashCopy(live, path.join(root, 'crashed'));
    hold.open();
    await consumer.stop();
    await fabric.close();

    const restarted = await createEmbeddedFabric({ dataDir: path.join(root, 'crashed'), queue: { ackWaitMs: 60_000, maxDeliver: 2 } });
    const counts: number[] = [];
    const again = await restarted.queue.consume('train', async (d) => {
      counts.push(d.deliveryCount);
      expect(untext(d.data)).toBe('epoch-1');
      await d.ack();
    });
    await eventually(() => expect(counts).toEqual([2]));
    await again.stop();
    await restarted.close();
  });

  it('dead-letters at start a job whose last delivery was cut short by a crash', async () => {
    const live = path.join(root, 'live');
    const fabric = await createEmbeddedFabric({ dataDir: live, queue: { ackWaitMs: 60_000, maxDeliver: 1 } });
    const hold = gate();
    await fabric.queue.enqueue('train', text('kills-the-process'), { msgId: 'k' });
    const consumer = await fabric.queue.consume('train', () => hold.promise);
    await eventually(async () =>
      expect(JSON.parse(await fs.readFile(path.join(live, 'queues', 'train.json'), 'utf8')).messages[0].deliveries).toBe(1),
    );
    await crashCopy(live, path.join(root, 'crashed'));
    hold.open();
    await consumer.stop();
    await fabric.close();

    const restarted = await createEmbeddedFabric({ dataDir: path.join(root, 'crashed'), queue: { maxDeliver: 1 } });
    expect(await restarted.queue.pending('train')).toBe(0);
    const [dead] = await restarted.queue.deadLetters('train');
    expect(dead).toMatchObject({ reason: MAX_DELIVERIES_REASON, deliveryCount: 1 });
    expect(untext(dead.data)).toBe('kills-the-process');
    await restarted.close();
  });

  it('refuses a damaged KV file with DATA_LOSS instead of starting empty', async () => {
    const dir = path.join(root, 'data');
    const fabric = await createEmbeddedFabric({ dataDir: dir });
    await (await fabric.kv.bucket('jobs')).put('j1', text('v'));
    await fabric.close();
    await fs.writeFile(path.join(dir, 'kv', 'jobs.json'), '{"format":"patchwork-kv","ver');
    const again = await createEmbeddedFabric({ dataDir: dir });
    expect(await errorCodeOf(again.kv.bucket('jobs'))).toBe('DATA_LOSS');
    await again.close();
  });

  it('rejects use after close with FAILED_PRECONDITION', async () => {
    const fabric = await createEmbeddedFabric({ dataDir: path.join(root, 'data') });
    const bucket = await fabric.kv.bucket('b');
    await fabric.close();
    await fabric.close();
    expect(await errorCodeOf(fabric.queue.enqueue('q', text('x'), { msgId: 'm' }))).toBe('FAILED_PRECONDITION');
    expect(await errorCodeOf(bucket.get('k'))).toBe('FAILED_PRECONDITION');
    expect(await errorCodeOf(fabric.bus.publish('a.b', text('x')))).toBe('FAILED_PRECONDITION');
    expect(await errorCodeOf(fabric.blobs.stat('0'.repeat(64)))).toBe('FAILED_PRECONDITION');
  });
});
