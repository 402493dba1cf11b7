import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import {
  ArtifactKind,
  ArtifactsService,
  BuildBackboneRequest,
  CancelJobRequest,
  CompareModelsRequest,
  CreateBundleRequest,
  DownloadRequest,
  GetArtifactRequest,
  GetJobRequest,
  JobsService,
  ListArtifactsRequest,
  PredictManyRequest,
  PredictRequest,
  RetrieveRequest,
  SubmitCompressRequest,
  SubmitEvaluationRequest,
  SubmitMergeRequest,
  SubmitTrainRequest,
  UploadChunk,
  WatchJobRequest,
  loadPackageDefinition,
} from '@patchwork/contracts';
import { checkHealth, createLogger, readPlatformConfig, type RunningPlatform, serve } from '@patchwork/platform';
import { fuzzMethods, rawCall, type FuzzMethod, type RawOutcome } from '@patchwork/platform/src/grpc/testing/proto-fuzz';
import { SafetensorsFile, tf, writeSafetensors } from '@patchwork/tensor';
import { SERVICE_MODULES } from './service-modules';

/**
 * Security checks over every RPC of every service, booted as `patchwork serve` boots them (embedded
 * fabric, token auth on): calls without the token are refused, and a time-bounded fuzz of hostile
 * requests (random bytes, and well-formed messages with hostile field values) gets well-formed
 * statuses only, after which the server is still healthy. PATCHWORK_FUZZ_SECONDS sets the fuzz
 * budget (default 10 s, shared evenly by the methods); PATCHWORK_FUZZ_SEED replays a run.
 */

function fuzzSeconds(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 10;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) throw new Error(`PATCHWORK_FUZZ_SECONDS: expected seconds in (0, 3600], got ${JSON.stringify(raw)}`);
  return seconds;
}

const FUZZ_SECONDS = fuzzSeconds(process.env['PATCHWORK_FUZZ_SECONDS']);
const SEED = process.env['PATCHWORK_FUZZ_SEED'] ? Number(process.env['PATCHWORK_FUZZ_SEED']) : Date.now() % 2 ** 31;
const TOKEN = 'fuzz-spec-token-7f3a';
/** A call that takes longer than this on bad input counts as a hang. */
const CALL_DEADLINE_MS = 10_000;
/** Requests per method per round, and calls in flight at once. */
const BATCH = 8;
const IN_FLIGHT = 4;

jest.setTimeout(FUZZ_SECONDS * 1000 + 120_000);

/** Statuses that describe the client's request; anything else (UNKNOWN, INTERNAL, ...) blames the server. */
const WELL_FORMED = new Set<grpc.status>([
  grpc.status.OK,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.OUT_OF_RANGE,
  grpc.status.NOT_FOUND,
  grpc.status.ALREADY_EXISTS,
  grpc.status.PERMISSION_DENIED,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.UNIMPLEMENTED,
]);
/** An upload whose bytes do not match its announced sha256 is DATA_LOSS by contract. */
const ALSO_WELL_FORMED: Record<string, grpc.status[]> = { '/patchwork.v1.Artifacts/Upload': [grpc.status.DATA_LOSS] };

/** The typed decoders, to show a failing request as the server read it. */
const DECODERS = new Map<string, (bytes: Buffer) => unknown>(
  [...Object.values(SERVICE_MODULES).map((m) => m.definition), JobsService, ArtifactsService].flatMap((definition) => Object.values(definition).map((m) => [m.path, m.requestDeserialize] as const)),
);

function describeRequest(method: FuzzMethod, requests: Uint8Array[]): string {
  const decode = DECODERS.get(method.path);
  return requests
    .map((bytes) => {
      let decoded: string;
      try {
        decoded = JSON.stringify(decode?.(Buffer.from(bytes)), (_key, value: unknown) => {
          if (typeof value === 'string' && value.length > 200) return `${value.slice(0, 200)}…(${value.length} chars)`;
          if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer') return `<bytes ${Buffer.from((value as { data: number[] }).data).toString('hex').slice(0, 64)}>`;
          return value;
        });
      } catch (err) {
        decoded = `(undecodable: ${(err as Error).message})`;
      }
      return `hex=${Buffer.from(bytes).toString('hex').slice(0, 400)} decoded=${decoded}`;
    })
    .join(' | ');
}

const FIXTURES = path.resolve(__dirname, '../../../../shared/fixtures/peer');

interface Templates {
  /** Valid single request messages per method path. */
  messages: Record<string, Uint8Array[]>;
  /** Valid request streams per client-streaming method path. */
  streams: Record<string, Uint8Array[]>;
}

/**
 * Valid requests that name real things (a model and an adapter registered from the peer fixtures,
 * an uploaded blob, a finished job), so that a hostile field in them is met by the deep checks
 * (model compatibility, safetensors decoding, inference) and not only by the first "required".
 */
async function validTemplates(platform: RunningPlatform, scratch: string): Promise<Templates> {
  const artifacts = platform.runtime.artifacts;
  const model = (await artifacts.putDirectory(path.join(FIXTURES, 'models/vit'), { kind: ArtifactKind.ARTIFACT_KIND_MODEL, format: 'hf-safetensors' })).digest;
  const adapterDir = path.join(scratch, 'vit-lora');
  await fs.mkdir(adapterDir);
  for (const file of ['adapter_config.json', 'adapter_model.safetensors']) await fs.copyFile(path.join(FIXTURES, 'adapters/vit-lora', file), path.join(adapterDir, file));
  const adapter = (await artifacts.putDirectory(adapterDir, { kind: ArtifactKind.ARTIFACT_KIND_ADAPTER, format: 'peft', baseModelDigest: model, labels: { task: 'digits' } })).digest;
  await artifacts.addEvaluation(adapter, { name: 'digits', metrics: { accuracy: 0.9 }, atMs: 1 });
  // The same weights under another identity: a second model to merge into the base.
  const tunedDir = path.join(scratch, 'vit-tuned');
  await fs.mkdir(tunedDir);
  const vitConfig = JSON.parse(await fs.readFile(path.join(FIXTURES, 'models/vit/config.json'), 'utf8'));
  await fs.writeFile(path.join(tunedDir, 'config.json'), JSON.stringify({ ...vitConfig, _name_or_path: 'vit-tuned' }));
  await fs.copyFile(path.join(FIXTURES, 'models/vit/model.safetensors'), path.join(tunedDir, 'model.safetensors'));
  const tuned = (await artifacts.putDirectory(tunedDir, { kind: ArtifactKind.ARTIFACT_KIND_MODEL, format: 'hf-safetensors' })).digest;
  const reference = await SafetensorsFile.open(path.join(FIXTURES, 'adapters/vit-lora/reference.safetensors'));
  const pixelFile = path.join(scratch, 'pixels.safetensors');
  try {
    await writeSafetensors(pixelFile, { pixel_values: { dtype: 'F32', shape: reference.info('pixel_values').shape, data: await reference.readFloat32('pixel_values') } });
  } finally {
    await reference.close();
  }
  const pixels = await fs.readFile(pixelFile);
  const blob = Buffer.from('a small blob');
  const blobDigest = createHash('sha256').update(blob).digest('hex');
  await platform.runtime.fabric.blobs.putBytes(blob);
  // A finished job, so that WatchJob ends at once instead of streaming until the deadline.
  const { job } = await platform.runtime.jobs.submit({ service: 'compress', kind: 'compress', requestId: 'fuzz-finished', request: new Uint8Array() });
  await platform.runtime.jobs.cancel(job!.id, 'fuzz fixture');
  const artifactRef = (digest: string) => ({ source: { $case: 'artifactDigest' as const, value: digest } });
  const bytes = (encoded: { finish(): Uint8Array }) => encoded.finish();
  const header: UploadChunk = { part: { $case: 'header', value: { size: blob.length, sha256: blobDigest } } };
  const data: UploadChunk = { part: { $case: 'data', value: blob } };
  return {
    messages: {
      '/patchwork.v1.Compress/SubmitCompress': [bytes(SubmitCompressRequest.encode({ requestId: 'fuzz-c', model: artifactRef(model), gamma: 2, distillDataset: '', distillSteps: 0, labels: {} }))],
      '/patchwork.v1.Train/SubmitTrain': [
        bytes(SubmitTrainRequest.encode({ requestId: 'fuzz-t', baseModel: artifactRef(model), configYaml: 'method: lora\ntask: digits\nparameters: { r: 4, lora_alpha: 8, target_modules: [query, value] }\ntrainer: { steps: 2 }\n', labels: {} })),
      ],
      '/patchwork.v1.Train/BuildBackbone': [bytes(BuildBackboneRequest.encode({ requestId: 'fuzz-b', name: 'vit-digits', evolved: false, seed: 1, steps: 2, labels: {} }))],
      '/patchwork.v1.Merge/SubmitMerge': [
        bytes(
          SubmitMergeRequest.encode({
            requestId: 'fuzz-m',
            spec: { mergeMethod: 'task_arithmetic', baseModel: artifactRef(model), models: [{ model: artifactRef(tuned), adapter: undefined, parameters: { weight: 0.5 }, settings: {} }], parameters: {}, dtype: 'float32', outDtype: '', settings: {} },
            labels: {},
          }),
        ),
      ],
      '/patchwork.v1.Evaluate/SubmitEvaluation': [
        bytes(SubmitEvaluationRequest.encode({ requestId: 'fuzz-e', model: artifactRef(model), adapterDigest: adapter, task: 'digits', labels: {}, batchSize: 8, shardSize: 0, limit: 16, gateJson: '', baselineJobId: '' })),
      ],
      '/patchwork.v1.Evaluate/CompareModels': [bytes(CompareModelsRequest.encode({ requestId: 'fuzz-cmp', oldJobId: job!.id, newJobId: job!.id }))],
      '/patchwork.v1.Retrieve/Retrieve': [bytes(RetrieveRequest.encode({ baseModelDigest: model, inputsSafetensors: pixels, topK: 2 }))],
      '/patchwork.v1.Retrieve/Predict': [bytes(PredictRequest.encode({ baseModelDigest: model, inputsSafetensors: pixels, adapterDigest: adapter }))],
      '/patchwork.v1.Retrieve/PredictMany': [bytes(PredictManyRequest.encode({ baseModelDigest: model, inputsSafetensors: pixels, adapterDigests: [adapter] }))],
      '/patchwork.v1.Jobs/GetJob': [bytes(GetJobRequest.encode({ jobId: job!.id }))],
      '/patchwork.v1.Jobs/WatchJob': [bytes(WatchJobRequest.encode({ jobId: job!.id }))],
      '/patchwork.v1.Jobs/CancelJob': [bytes(CancelJobRequest.encode({ jobId: job!.id, reason: 'fuzz' }))],
      '/patchwork.v1.Artifacts/Upload': [bytes(UploadChunk.encode(header)), bytes(UploadChunk.encode(data))],
      '/patchwork.v1.Artifacts/Download': [bytes(DownloadRequest.encode({ digest: blobDigest }))],
      '/patchwork.v1.Artifacts/CreateBundle': [bytes(CreateBundleRequest.encode({ files: [{ path: 'dir/blob.bin', digest: blobDigest, size: blob.length }], kind: ArtifactKind.ARTIFACT_KIND_BLOB, format: 'raw', labels: {} }))],
      '/patchwork.v1.Artifacts/GetArtifact': [bytes(GetArtifactRequest.encode({ digest: adapter }))],
      '/patchwork.v1.Artifacts/ListArtifacts': [bytes(ListArtifactsRequest.encode({ kind: ArtifactKind.ARTIFACT_KIND_ADAPTER, baseModelDigest: model }))],
    },
    streams: { '/patchwork.v1.Artifacts/Upload': [bytes(UploadChunk.encode(header)), bytes(UploadChunk.encode(data))] },
  };
}

function requestsOf(method: FuzzMethod, templates: Templates): fc.Arbitrary<Uint8Array[]> {
  if (!method.requestStream) return method.message.map((m) => [m]);
  const valid = templates.streams[method.path];
  const random = fc.array(method.message, { maxLength: 4 });
  if (!valid) return random;
  // A valid stream with one message swapped for a hostile one, or one more appended.
  const tampered = fc.tuple(fc.nat(valid.length), method.message).map(([at, message]) => [...valid.slice(0, at), message, ...valid.slice(at + 1)]);
  return fc.oneof(random, tampered, fc.constant(valid));
}

function metadataWith(token: string | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

describe('security of every RPC (all services, embedded fabric, token auth)', () => {
  let dataDir: string;
  let platform: RunningPlatform;
  let client: grpc.Client;
  let address: string;
  let methods: FuzzMethod[];
  let serviceNames: string[];
  const errorLines: string[] = [];
  let templates: Templates;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'security-fuzz-'));
    // Workers stay off: accepted Submit calls only queue their jobs, so the budget goes to the RPC edge.
    const config = readPlatformConfig({ PATCHWORK_AUTH_TOKEN: TOKEN, PATCHWORK_MAX_UPLOAD_BYTES: String(1 << 20) }, { dataDir, grpcPort: '0', workers: 'false' });
    const logger = createLogger({ service: 'security-fuzz', level: 'error', destination: { write: (line: string) => errorLines.push(line) } });
    platform = await serve({ config, modules: config.services.map((s) => SERVICE_MODULES[s]), logger });
    address = `127.0.0.1:${platform.port}`;
    client = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 8 * 1024 * 1024 });
    const pkg = loadPackageDefinition();
    templates = await validTemplates(platform, dataDir);
    serviceNames = [...config.services.map((s) => SERVICE_MODULES[s].grpcName), 'patchwork.v1.Jobs', 'patchwork.v1.Artifacts'];
    methods = serviceNames.flatMap((name) => fuzzMethods(pkg, name, { templates: templates.messages }));
  });

  afterAll(async () => {
    client?.close();
    await platform?.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('refuses every RPC of every service without the right token, and keeps health open', async () => {
    expect(methods.length).toBeGreaterThanOrEqual(17);
    // A new RPC needs a valid template below, or its fuzz never gets past the first check.
    expect(methods.filter((m) => !templates.messages[m.path]).map((m) => m.path)).toEqual([]);
    for (const method of methods) {
      for (const token of [undefined, 'wrong-token', '']) {
        const outcome = await rawCall(client, method, [new Uint8Array()], metadataWith(token), CALL_DEADLINE_MS);
        expect({ path: method.path, token, code: grpc.status[outcome.code] }).toEqual({ path: method.path, token, code: 'UNAUTHENTICATED' });
      }
    }
    for (const service of ['', ...serviceNames]) expect(await checkHealth({ address, service })).toBe('SERVING');
  });

  it(`answers ${FUZZ_SECONDS} s of hostile requests with well-formed statuses only, and stays SERVING`, async () => {
    // How the untouched templates fare: a template the service now refuses makes its method's fuzz shallower.
    const templateOutcomes: Record<string, string> = {};
    for (const method of methods) {
      const valid = templates.streams[method.path] ?? templates.messages[method.path]?.slice(0, 1);
      if (!valid) continue;
      const outcome = await rawCall(client, method, valid, metadataWith(TOKEN), CALL_DEADLINE_MS);
      templateOutcomes[method.path] = outcome.code === grpc.status.OK ? 'OK' : `${grpc.status[outcome.code]}: ${outcome.details}`;
    }
    const failures: string[] = [];
    const summary: Record<string, { calls: number; codes: Record<string, number> }> = Object.fromEntries(methods.map((m) => [m.path, { calls: 0, codes: {} }]));
    const arbitraries = new Map(methods.map((m) => [m.path, requestsOf(m, templates)]));
    const probe = async (method: FuzzMethod, requests: Uint8Array[]) => {
      const outcome: RawOutcome = await rawCall(client, method, requests, metadataWith(TOKEN), CALL_DEADLINE_MS);
      const name = grpc.status[outcome.code] ?? String(outcome.code);
      const stats = summary[method.path];
      stats.calls++;
      stats.codes[name] = (stats.codes[name] ?? 0) + 1;
      const allowed = WELL_FORMED.has(outcome.code) || (ALSO_WELL_FORMED[method.path] ?? []).includes(outcome.code);
      if (!allowed || (outcome.code !== grpc.status.OK && !outcome.details)) {
        failures.push(`${method.path} -> ${name} ${JSON.stringify(outcome.details)} for ${describeRequest(method, requests)}`);
      }
    };
    // Round robin in small batches, a few calls in flight: every method gets an equal share of the
    // budget, and one method's cold start (a lazily loaded library) does not eat its whole share.
    const deadline = Date.now() + FUZZ_SECONDS * 1000;
    let seed = SEED;
    while (Date.now() < deadline) {
      for (const method of methods) {
        const batch = fc.sample(arbitraries.get(method.path)!, { numRuns: BATCH, seed: seed++ });
        for (let i = 0; i < batch.length; i += IN_FLIGHT) await Promise.all(batch.slice(i, i + IN_FLIGHT).map((requests) => probe(method, requests)));
        if (Date.now() >= deadline) break;
      }
    }
    if (process.env['PATCHWORK_FUZZ_SECONDS']) {
      const total = Object.values(summary).reduce((n, s) => n + s.calls, 0);
      process.stdout.write(`security fuzz: ${total} calls in ${FUZZ_SECONDS} s, seed ${SEED}, ${failures.length} failures\n`);
      for (const [p, s] of Object.entries(summary)) process.stdout.write(`  ${p}: ${s.calls} calls ${JSON.stringify(s.codes)}; valid template: ${templateOutcomes[p] ?? 'none'}\n`);
    }
    expect({ seed: SEED, failures: failures.slice(0, 10), more: Math.max(0, failures.length - 10) }).toEqual({ seed: SEED, failures: [], more: 0 });
    for (const method of methods) expect(summary[method.path].calls).toBeGreaterThan(0);
    // Errors the server logged are internal failures the statuses would have shown; none expected.
    expect(errorLines.filter((l) => l.includes('internal error'))).toEqual([]);
    for (const service of ['', ...serviceNames]) expect(await checkHealth({ address, service })).toBe('SERVING');
    const list = methods.find((m) => m.path === '/patchwork.v1.Artifacts/ListArtifacts')!;
    expect((await rawCall(client, list, [new Uint8Array()], metadataWith(TOKEN), CALL_DEADLINE_MS)).code).toBe(grpc.status.OK);
  });
});
