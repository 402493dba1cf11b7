import fc from 'fast-check';
import { checkHealth } from '@patchwork/platform';
import { initBackend, tf } from '@patchwork/tensor';
import { type FuzzCase, fuzzCaseArb, sendCase, violation } from './testing/fuzz-cases';
import { type FuzzTarget, startFuzzTarget, warmUp } from './testing/fuzz-target';

// The bounded version of tools/bench/src/retrieve-fuzz.ts (which runs for a minute).
let target: FuzzTarget;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  target = await startFuzzTarget();
}, 60_000);

afterAll(async () => {
  await target?.close();
});

describe('retrieve service under random and malformed requests [wasm]', () => {
  it('answers every request with its expected status, leaks no tensor and stays SERVING', async () => {
    const { client, digests: d } = target;
    await warmUp(target);
    const tensors = tf.memory().numTensors;

    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fuzzCaseArb(d), async (c: FuzzCase) => {
        const outcome = await sendCase(client, c);
        seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
        expect(violation(c, outcome)).toBeUndefined();
      }),
      { numRuns: 150, seed: 20250101 },
    );
    // Concurrent bursts: good and bad requests share batches.
    const cases = fc.sample(fuzzCaseArb(d), { numRuns: 64, seed: 7 });
    const outcomes = await Promise.all(cases.map((c) => sendCase(client, c)));
    expect(cases.map((c, i) => violation(c, outcomes[i])).filter((v) => v !== undefined)).toEqual([]);

    expect(seen.get('OK') ?? 0).toBeGreaterThan(20);
    for (const code of ['INVALID_ARGUMENT', 'NOT_FOUND', 'FAILED_PRECONDITION']) expect(seen.get(code) ?? 0).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(await checkHealth({ address: target.address, service: 'patchwork.v1.Retrieve' })).toBe('SERVING');
    expect(await checkHealth({ address: target.address })).toBe('SERVING');
  }, 60_000);
});
