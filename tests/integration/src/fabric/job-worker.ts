// A queue worker in its own process, for tests that SIGKILL it mid-job. It takes one job, reports
// "started <deliveryCount>" on stdout and then works on it forever, heartbeating with working().
import { createNatsFabric } from '@patchwork/platform/src/fabric';

async function main(): Promise<void> {
  const env = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is required`);
    return value;
  };
  const ackWaitMs = Number(env('ACK_WAIT_MS'));
  const fabric = await createNatsFabric({
    servers: env('NATS_URL'),
    prefix: env('FABRIC_PREFIX'),
    queue: { ackWaitMs, maxDeliver: Number(env('MAX_DELIVER')) },
    name: 'sigkill-worker',
  });
  await fabric.queue.consume(env('QUEUE'), async (delivery) => {
    process.stdout.write(`started ${delivery.deliveryCount}\n`);
    for (;;) {
      delivery.working();
      await new Promise((resolve) => setTimeout(resolve, ackWaitMs / 4));
    }
  });
  process.stdout.write('ready\n');
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
