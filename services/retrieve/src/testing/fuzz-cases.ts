import fc from 'fast-check';
import type { PredictManyRequest, PredictRequest, RetrieveClient, RetrieveRequest } from '@patchwork/contracts';
import { PatchworkError } from '@patchwork/errors';
import { callUnary } from '@patchwork/platform';
import type { FuzzDigests } from './fuzz-target';
import { safetensorsBytes } from '@patchwork/tensor';
import { pixelBlob } from './pixel-blob';

/**
 * Random and malformed requests to the retrieve service, each with the outcomes it may have.
 * Every part of a request is drawn from variants (a valid value, or a fault) and each fault
 * names the one status it must cause; a request with several faults may fail with any of
 * theirs (the order of checks is the service's business), and a request without faults must
 * succeed. INTERNAL, UNKNOWN or a timeout are never allowed.
 */
export type Rpc = 'retrieve' | 'predict' | 'predictMany';
export type Outcome = 'OK' | string;

export interface FuzzCase {
  readonly rpc: Rpc;
  readonly request: RetrieveRequest | PredictRequest | PredictManyRequest;
  /** Variant names, for reports. */
  readonly shape: string;
  readonly allowed: readonly Outcome[];
}

interface Part<T> {
  readonly name: string;
  readonly value: T;
  /** Status this part must cause (none: valid). */
  readonly fault?: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const INVALID = 'INVALID_ARGUMENT';
const part = <T>(name: string, value: T, fault?: string): Part<T> => ({ name, value, fault });

const f32 = fc.float({ min: Math.fround(-1e3), max: Math.fround(1e3), noNaN: true, noDefaultInfinity: true });

function digestArb(d: FuzzDigests): fc.Arbitrary<string> {
  const known = new Set([d.base, d.otherBase, d.lora, d.router, ...d.tasks]);
  return fc.stringMatching(HEX64).filter((s) => !known.has(s));
}

const garbageString = fc.string({ minLength: 1, maxLength: 80, unit: 'binary' }).filter((s) => !HEX64.test(s));

function baseArb(d: FuzzDigests): fc.Arbitrary<Part<string>> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(part('base', d.base)) },
    { weight: 1, arbitrary: fc.constant(part('base=empty', '', INVALID)) },
    { weight: 1, arbitrary: garbageString.map((s) => part('base=garbage', s, INVALID)) },
    { weight: 1, arbitrary: digestArb(d).map((s) => part('base=unknown', s, 'NOT_FOUND')) },
    { weight: 1, arbitrary: fc.constant(part('base=adapter', d.lora, 'FAILED_PRECONDITION')) },
    // A model with no adapter trained on it: every adapter of the registry is refused.
    { weight: 1, arbitrary: fc.constant(part('base=other', d.otherBase, 'FAILED_PRECONDITION')) },
  );
}

/** Inputs; `empty` is valid for Retrieve only (rank by evaluations). */
function inputsArb(): fc.Arbitrary<Part<Buffer> & { readonly empty?: boolean }> {
  const image = fc.record({ count: fc.integer({ min: 1, max: 4 }), values: fc.array(f32, { minLength: 1, maxLength: 16 }) }).map(({ count, values }) => part(`image[${count}]`, pixelBlob(count, values)));
  const wrongSize = fc
    .record({ count: fc.integer({ min: 1, max: 3 }), channels: fc.integer({ min: 1, max: 3 }), size: fc.integer({ min: 1, max: 12 }) })
    .filter((g) => !(g.channels === 1 && g.size === 8))
    .map((g) => part(`image=${g.channels}x${g.size}x${g.size}`, pixelBlob(g.count, [0.5], g), INVALID));
  const flat = fc.integer({ min: 1, max: 3 }).map((n) => part('image=flat', safetensorsBytes({ pixel_values: { dtype: 'F32', shape: [n, 64], data: new Float32Array(n * 64) } }), INVALID));
  const emptyBatch = fc.constant(part('image=empty-batch', safetensorsBytes({ pixel_values: { dtype: 'F32', shape: [0, 1, 8, 8], data: new Float32Array(0) } }), INVALID));
  const nonFinite = fc
    .record({ at: fc.integer({ min: 0, max: 63 }), v: fc.constantFrom(Number.NaN, Infinity, -Infinity) })
    .map(({ at, v }) => {
      const values = new Array<number>(64).fill(0.25);
      values[at] = v;
      return part('image=non-finite', pixelBlob(1, values), INVALID);
    });
  const intPixels = fc.constant(part('image=int64', safetensorsBytes({ pixel_values: { dtype: 'I64', shape: [1, 1, 8, 8], data: new BigInt64Array(64) } }), INVALID));
  const tokens = fc.integer({ min: 1, max: 6 }).map((n) => part('tokens', safetensorsBytes({ input_ids: { dtype: 'I64', shape: [1, n], data: new BigInt64Array(n).fill(1n) } }), INVALID));
  const unknownName = fc.constant(part('tensor=unknown', safetensorsBytes({ hidden: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }), INVALID));
  const extraMask = fc.constant(
    part('image+attention_mask', safetensorsBytes({ pixel_values: { dtype: 'F32', shape: [1, 1, 8, 8], data: new Float32Array(64) }, attention_mask: { dtype: 'I64', shape: [1, 4], data: new BigInt64Array(4) } }), INVALID),
  );
  const garbage = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => part('bytes=garbage', Buffer.from(b), INVALID));
  const truncated = fc.integer({ min: 1, max: 8 + 64 + 4 * 64 - 1 }).map((n) => {
    const full = pixelBlob(1, [0.5]);
    return part('bytes=truncated', full.subarray(0, Math.min(n, full.length - 1)), INVALID);
  });
  // Longer than the real header, so the JSON runs into the binary data or past the end (a
  // shorter one could cut the JSON before its padding and still parse).
  const headerLie = fc.bigInt({ min: 1n, max: 2n ** 63n }).map((extra) => {
    const blob = Buffer.from(pixelBlob(1, [0.5]));
    blob.writeBigUInt64LE(blob.readBigUInt64LE(0) + extra);
    return part('header=length-lie', blob, INVALID);
  });
  const badJson = fc.string({ minLength: 1, maxLength: 40 }).map((s) => {
    const json = Buffer.from(`{${s}`);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return part('header=bad-json', Buffer.concat([len, json]), INVALID);
  });
  const empty = fc.constant({ ...part('bytes=empty', Buffer.alloc(0), INVALID), empty: true });
  return fc.oneof(
    { weight: 10, arbitrary: image },
    { weight: 1, arbitrary: wrongSize },
    { weight: 1, arbitrary: flat },
    { weight: 1, arbitrary: emptyBatch },
    { weight: 1, arbitrary: nonFinite },
    { weight: 1, arbitrary: intPixels },
    { weight: 1, arbitrary: tokens },
    { weight: 1, arbitrary: unknownName },
    { weight: 1, arbitrary: extraMask },
    { weight: 1, arbitrary: garbage },
    { weight: 1, arbitrary: truncated },
    { weight: 1, arbitrary: headerLie },
    { weight: 1, arbitrary: badJson },
    { weight: 1, arbitrary: empty },
  );
}

/** An adapter name; `auto` (empty) is valid for Predict only. */
function adapterArb(d: FuzzDigests): fc.Arbitrary<Part<string> & { readonly auto?: boolean }> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant({ ...part('adapter=auto', ''), auto: true }) },
    { weight: 3, arbitrary: fc.constant(part('adapter=lora', d.lora)) },
    { weight: 3, arbitrary: fc.constantFrom(...d.tasks).map((t) => part(`adapter=task${d.tasks.indexOf(t)}`, t)) },
    { weight: 1, arbitrary: fc.constant(part('adapter=router', d.router, 'FAILED_PRECONDITION')) },
    { weight: 1, arbitrary: fc.constant(part('adapter=model', d.base, 'NOT_FOUND')) },
    { weight: 1, arbitrary: digestArb(d).map((s) => part('adapter=unknown', s, 'NOT_FOUND')) },
    { weight: 1, arbitrary: garbageString.map((s) => part('adapter=garbage', s, INVALID)) },
  );
}

function allowed(faults: ReadonlyArray<string | undefined>): Outcome[] {
  const codes = [...new Set(faults.filter((f): f is string => f !== undefined))];
  return codes.length === 0 ? ['OK'] : codes;
}

export function fuzzCaseArb(d: FuzzDigests): fc.Arbitrary<FuzzCase> {
  const retrieve = fc.record({ base: baseArb(d), inputs: inputsArb(), topK: fc.nat({ max: 2 ** 32 - 1 }) }).map(({ base, inputs, topK }): FuzzCase => ({
    rpc: 'retrieve',
    request: { baseModelDigest: base.value, inputsSafetensors: inputs.value, topK },
    shape: `retrieve ${base.name} ${inputs.name}`,
    allowed: allowed([base.fault, inputs.empty ? undefined : inputs.fault]),
  }));
  const predict = fc.record({ base: baseArb(d), inputs: inputsArb(), adapter: adapterArb(d) }).map(({ base, inputs, adapter }): FuzzCase => ({
    rpc: 'predict',
    request: { baseModelDigest: base.value, inputsSafetensors: inputs.value, adapterDigest: adapter.value },
    shape: `predict ${base.name} ${inputs.name} ${adapter.name}`,
    allowed: allowed([base.fault, inputs.fault, adapter.fault]),
  }));
  const many = fc.record({ base: baseArb(d), inputs: inputsArb(), adapters: fc.array(adapterArb(d), { maxLength: 4 }) }).map(({ base, inputs, adapters }): FuzzCase => ({
    rpc: 'predictMany',
    request: { baseModelDigest: base.value, inputsSafetensors: inputs.value, adapterDigests: adapters.map((a) => a.value) },
    shape: `predictMany ${base.name} ${inputs.name} [${adapters.map((a) => a.name).join(',')}]`,
    // An empty name in a fan-out is not "auto": every entry must name an adapter.
    allowed: allowed([base.fault, inputs.fault, adapters.length === 0 ? INVALID : undefined, ...adapters.map((a) => (a.auto ? INVALID : a.fault))]),
  }));
  return fc.oneof(retrieve, predict, many);
}

/** Sends one case; resolves to 'OK' or the status code of the error. */
export async function sendCase(client: RetrieveClient, c: FuzzCase, timeoutMs = 30_000): Promise<Outcome> {
  try {
    const settings = { timeoutMs };
    if (c.rpc === 'retrieve') await callUnary(client, 'retrieve', c.request as RetrieveRequest, settings);
    else if (c.rpc === 'predict') await callUnary(client, 'predict', c.request as PredictRequest, settings);
    else await callUnary(client, 'predictMany', c.request as PredictManyRequest, settings);
    return 'OK';
  } catch (e) {
    return e instanceof PatchworkError ? e.code : `non-gRPC error: ${String(e)}`;
  }
}

/** A description of what went wrong, or undefined when `outcome` is allowed. */
export function violation(c: FuzzCase, outcome: Outcome): string | undefined {
  return c.allowed.includes(outcome) ? undefined : `${c.shape}: got ${outcome}, allowed ${c.allowed.join(' | ')}`;
}
