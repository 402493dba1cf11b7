// A timed fuzz of the retrieve service on loopback: random and malformed Retrieve / Predict /
// PredictMany requests (fast-check generators: wrong image sizes, empty batches, non-finite
// pixels, corrupt safetensors, unknown or malformed digests, routers named as adapters, ...),
// several in flight at once. Every answer must be the status its faults call for
// (INVALID_ARGUMENT / NOT_FOUND / FAILED_PRECONDITION, or OK for a valid request), never
// INTERNAL, UNKNOWN or a timeout; health must stay SERVING throughout.
//   npx tsx tools/bench/src/retrieve-fuzz.ts [--seconds 60] [--concurrency 8] [--seed 1] [--backend wasm|cpu]
// Exits 1 on any violation.
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { checkHealth } from '@patchwork/platform';
import { type FuzzCase, fuzzCaseArb, sendCase, violation } from '@patchwork/service-retrieve/src/testing/fuzz-cases';
import { startFuzzTarget, warmUp } from '@patchwork/service-retrieve/src/testing/fuzz-target';
import { initBackend, tf } from '@patchwork/tensor';
import { formatTable } from './table';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '8' },
    seed: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'wasm' },
  },
});
const SECONDS = Number(flags.seconds);
const CONCURRENCY = Number(flags.concurrency);
const SERVICE = 'patchwork.v1.Retrieve';

async function main(): Promise<void> {
  const loadBefore = os.loadavg();
  await initBackend({ backend: flags.backend as never });
  const target = await startFuzzTarget();
  try {
    const arb = fuzzCaseArb(target.digests);
    let batchSeed = Number(flags.seed);
    const queue: FuzzCase[] = [];
    const take = (): FuzzCase => {
      if (queue.length === 0) queue.push(...fc.sample(arb, { numRuns: 256, seed: batchSeed++ }));
      return queue.shift() as FuzzCase;
    };
    // The tensor count must not grow while requests are answered or refused.
    await warmUp(target);
    const tensorsBefore = tf.memory().numTensors;

    const outcomes = new Map<string, number>();
    const byRpc = new Map<string, number>();
    const violations: string[] = [];
    const health = { checks: 0, notServing: [] as string[] };
    let sent = 0;
    const started = performance.now();
    const end = started + SECONDS * 1000;
    const healthLoop = (async () => {
      while (performance.now() < end) {
        await new Promise((r) => setTimeout(r, 1000));
        for (const service of [SERVICE, '']) {
          const status = await checkHealth({ address: target.address, service }, { timeoutMs: 10_000 }).catch((e) => `error ${String(e)}`);
          health.checks++;
          if (status !== 'SERVING') health.notServing.push(`${((performance.now() - started) / 1000).toFixed(1)} s: ${service || '(server)'} ${status}`);
        }
      }
    })();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < end) {
          const c = take();
          const outcome = await sendCase(target.client, c);
          sent++;
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          byRpc.set(c.rpc, (byRpc.get(c.rpc) ?? 0) + 1);
          const v = violation(c, outcome);
          if (v !== undefined) violations.push(v);
        }
      }),
    );
    await healthLoop;
    const seconds = (performance.now() - started) / 1000;
    const finalHealth = await checkHealth({ address: target.address, service: SERVICE });
    const leaked = tf.memory().numTensors - tensorsBefore;

    console.log(`retrieve fuzz: ${seconds.toFixed(1)} s, ${CONCURRENCY} in flight, seed ${flags.seed}, ${flags.backend} backend; machine load ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} after (1/5/15 min)`);
    console.log(`${sent} requests (${[...byRpc].map(([k, v]) => `${k} ${v}`).join(', ')}), ${(sent / seconds).toFixed(0)}/s\n`);
    console.log(formatTable(['outcome', 'requests'], [...outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, String(v)])));
    console.log(`\nhealth: ${health.checks} checks during the run, ${health.notServing.length} not SERVING; at the end ${finalHealth}`);
    console.log(`tensors: ${leaked === 0 ? 'no growth' : `${leaked} more than after warm-up`}`);
    console.log(`violations: ${violations.length}`);
    for (const v of violations.slice(0, 20)) console.log(`  ${v}`);
    for (const h of health.notServing.slice(0, 20)) console.log(`  health ${h}`);
    if (violations.length > 0 || health.notServing.length > 0 || finalHealth !== 'SERVING' || leaked !== 0) process.exitCode = 1;
  } finally {
    await target.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
