import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, RetentionPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createNatsFabric, jobsStreamName, MAX_DELIVERIES_REASON, queueConsumerName } from '@patchwork/platform/src/fabric';
import { errorCodeOf, eventually, gate, sleep, text, untext } from '@patchwork/platform/src/fabric/contract';
import type { Fabric } from '@patchwork/platform/src/ports';
import { natsUrl, prefixPool } from '../support/nats';

const repoRoot = path.resolve(__dirname, '../../../..');
const prefixes = prefixPool();
const fabrics: Fabric[] = [];
const children: ChildProcess[] = [];
/** Gates a failed test left closed: opened before its fabric is closed, so close() can finish. */
const releases: Array<() => void> = [];
const ACK_WAIT_MS = 1000;

async function openFabric(prefix: string, maxDeliver = 3): Promise<Fabric> {
  const fabric = await createNatsFabric({ servers: natsUrl(), prefix, queue: { ackWaitMs: ACK_WAIT_MS, maxDeliver } });
  fabrics.push(fabric);
  return fabric;
}

/** Starts job-worker.ts in a child process; resolves once it has taken a job. */
function startWorker(prefix: string, queue: string): Promise<{ child: ChildProcess; deliveryCount: number }> {
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'job-worker.ts')], {
    cwd: repoRoot,
    env: { ...process.env, NATS_URL: natsUrl(), FABRIC_PREFIX: prefix, QUEUE: queue, ACK_WAIT_MS: String(ACK_WAIT_MS), MAX_DELIVER: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      const m = /started (\d+)/.exec(String(d));
      if (m) resolve({ child, deliveryCount: Number(m[1]) });
    });
    child.once('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}) before taking the job: ${stderr}`)));
  });
}

afterEach(async () => {
  for (const release of releases.splice(0)) release();
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.allSettled(fabrics.splice(0).map((f) => f.close()));
});

afterAll(() => prefixes.cleanup());

describe('NATS fabric', () => {
  it('redelivers the job of a SIGKILLed worker process to another consumer, which finishes it exactly once', async () => {
    const prefix = prefixes.next();
    const fabric = await openFabric(prefix);
    await fabric.queue.enqueue('merge', text('job-42'), { msgId: 'req-42' });

    const { child, deliveryCount } = await startWorker(prefix, 'merge');
    expect(deliveryCount).toBe(1);
    const finished: Array<{ body: string; deliveryCount: number }> = [];
    const survivor = await fabric.queue.consume('merge', async (d) => {
      finished.push({ body: untext(d.data), deliveryCount: d.deliveryCount });
      await d.ack();
    });
    // While the worker lives its working() heartbeats keep the job, well past ackWait.
    await sleep(ACK_WAIT_MS * 1.5);
    expect(finished).toEqual([]);

    child.kill('SIGKILL');
    await eventually(() => expect(finished).toHaveLength(1), 10 * ACK_WAIT_MS);
    expect(finished[0]).toEqual({ body: 'job-42', deliveryCount: 2 });
    await sleep(ACK_WAIT_MS * 1.5);
    await survivor.stop();
    expect(finished).toHaveLength(1);
    expect(await fabric.queue.pending('merge')).toBe(0);
    expect(await fabric.queue.deadLetters('merge')).toEqual([]);
  });

  it('moves a job that ran out of deliveries without any handler deciding to the DLQ (advisory backstop)', async () => {
    const prefix = prefixes.next();
    const fabric = await openFabric(prefix, 1);
    // Occupy the fabric's only slot so the raw client below is the only puller of the second job.
    const hold = gate();
    releases.push(hold.open);
    const started = gate();
    const consumer = await fabric.queue.consume('eval', async (d) => {
      started.open();
      while (!(await Promise.race([hold.promise.then(() => true), sleep(ACK_WAIT_MS / 4).then(() => false)]))) d.working();
      await d.ack();
    });
    await fabric.queue.enqueue('eval', text('holder'), { msgId: 'h' });
    await started.promise;
    await fabric.queue.enqueue('eval', text('orphan'), { msgId: 'o', headers: { 'x-shard': '7' } });

    // Two workers that die holding the job: the consumer allows maxDeliver + 1 = 2 deliveries.
    const nc = await connect({ servers: natsUrl() });
    try {
      const raw = await jetstream(nc).consumers.get(jobsStreamName(prefix), queueConsumerName(prefix, 'eval'));
      for (let i = 1; i <= 2; i++) {
        const m = await raw.next({ expires: 5000 });
        expect(m && untext(m.data)).toBe('orphan');
        expect(m!.info.deliveryCount).toBe(i);
      }
      // The server notices the exhausted job (and advises) when a puller next asks for work.
      expect(await raw.next({ expires: ACK_WAIT_MS * 2 })).toBeNull();
    } finally {
      await nc.drain();
    }
    const dead = await eventually(async () => {
      const all = await fabric.queue.deadLetters('eval');
      expect(all).toHaveLength(1);
      return all[0];
    });
    expect(untext(dead.data)).toBe('orphan');
    expect(dead).toMatchObject({ reason: MAX_DELIVERIES_REASON, deliveryCount: 1, headers: { 'x-shard': '7' } });
    expect(await fabric.queue.pending('eval')).toBe(1); // only the held job
    hold.open();
    await eventually(async () => expect(await fabric.queue.pending('eval')).toBe(0));
    await consumer.stop();
  });

  it('creates the JOBS work queue and one durable pull consumer per queue under stable names', async () => {
    expect(queueConsumerName('', 'evaluate')).toBe('jobs-evaluate');
    expect(jobsStreamName('')).toBe('JOBS');
    const prefix = prefixes.next();
    const fabric = await openFabric(prefix, 4);
    const consumer = await fabric.queue.consume('evaluate', async (d) => d.ack());
    await consumer.stop();
    const nc = await connect({ servers: natsUrl() });
    try {
      const jsm = await jetstreamManager(nc);
      const stream = await jsm.streams.info(jobsStreamName(prefix));
      expect(stream.config).toMatchObject({ retention: RetentionPolicy.Workqueue, subjects: [`${prefix}jobs.>`], duplicate_window: 120e9 });
      const info = await jsm.consumers.info(jobsStreamName(prefix), queueConsumerName(prefix, 'evaluate'));
      expect(info.config).toMatchObject({
        durable_name: `${prefix}jobs-evaluate`,
        filter_subject: `${prefix}jobs.evaluate`,
        ack_policy: AckPolicy.Explicit,
        ack_wait: ACK_WAIT_MS * 1e6,
        max_deliver: 5,
      });
    } finally {
      await nc.drain();
    }
  });

  it('reports an unreachable server as UNAVAILABLE', async () => {
    expect(await errorCodeOf(createNatsFabric({ servers: 'nats://127.0.0.1:1', connectTimeoutMs: 2000 }))).toBe('UNAVAILABLE');
  });
});
