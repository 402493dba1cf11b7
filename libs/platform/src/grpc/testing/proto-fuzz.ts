import * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import fc from 'fast-check';

/**
 * Test-only: hostile gRPC requests. Messages are generated from the proto descriptors of a
 * proto-loader package definition and written straight in the protobuf wire format, so every
 * field can carry values a typed client would never send (negative sizes, 2^64-1, NaN, path
 * traversals, NUL bytes, both members of a oneof), next to plainly random bytes.
 */

interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}

interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType: MessageDescriptor[];
}

type Package = protoLoader.PackageDefinition;

/** Strings that have broken servers: traversal, NUL, injection, formats, digests, huge. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '.',
  '..',
  '../x',
  '../../../../etc/passwd',
  '/etc/passwd',
  'a/../../b',
  'a\u0000b',
  '\u0000',
  '..\\..\\x',
  'C:\\Windows\\System32',
  'path:/etc',
  'path:../../x',
  'artifact:../../x',
  `artifact:${'a'.repeat(64)}`,
  'a'.repeat(64),
  'A'.repeat(64),
  'g'.repeat(64),
  `sha256:${'0'.repeat(64)}`,
  'job-00000000-0000-0000-0000-000000000000',
  '-1',
  'NaN',
  '1e309',
  '%s%s%n',
  '${jndi:ldap://127.0.0.1/x}',
  '{{7*7}}',
  '__proto__',
  'constructor',
  '{"__proto__":{"polluted":true}}',
  'a: &a [*a, *a, *a]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]',
  'x: !!js/function "function(){}"',
  '- - - - - - - - - - [',
  'rank: -5\nlr: .nan\nsteps: .inf',
  '\u202e\u0301🙂\ud800',
  'x'.repeat(70_000),
];

const INT_EDGES: readonly bigint[] = [0n, 1n, -1n, 2n ** 31n - 1n, -(2n ** 31n), 2n ** 32n - 1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n];
const DOUBLE_EDGES: readonly number[] = [Number.NaN, Infinity, -Infinity, -0, 1e308, 5e-324, 0.5, 1, -1, 1e-12];

function varint(value: bigint): number[] {
  // Negative values go on the wire as their 64-bit two's complement, as protobuf requires.
  let v = (value < 0n ? value + 2n ** 64n : value) & (2n ** 64n - 1n);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

const tag = (field: number, wireType: number) => varint(BigInt((field << 3) | wireType));

/** One encoded field occurrence, tag included. */
type Piece = Buffer;

const varintField = (field: number, value: bigint): Piece => Buffer.from([...tag(field, 0), ...varint(value)]);
const lengthDelimited = (field: number, bytes: Uint8Array): Piece => Buffer.concat([Buffer.from([...tag(field, 2), ...varint(BigInt(bytes.length))]), bytes]);

function fixedField(field: number, bytes: 4 | 8, value: number): Piece {
  const body = Buffer.alloc(bytes);
  if (bytes === 8) body.writeDoubleLE(value);
  else body.writeFloatLE(value);
  return Buffer.concat([Buffer.from(tag(field, bytes === 8 ? 1 : 5)), body]);
}

function scalarArbitrary(field: FieldDescriptor): fc.Arbitrary<Piece> | undefined {
  const n = field.number;
  const anyInt = fc.oneof(fc.constantFrom(...INT_EDGES), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), fc.integer({ min: -10, max: 1000 }).map(BigInt));
  const anyDouble = fc.oneof(fc.constantFrom(...DOUBLE_EDGES), fc.double());
  switch (field.type) {
    case 'TYPE_INT32':
    case 'TYPE_INT64':
    case 'TYPE_UINT32':
    case 'TYPE_UINT64':
      return anyInt.map((v) => varintField(n, v));
    case 'TYPE_SINT32':
    case 'TYPE_SINT64':
      return anyInt.map((v) => varintField(n, v < 0n ? -2n * v - 1n : 2n * v));
    case 'TYPE_BOOL':
      return fc.constantFrom(0n, 1n, 2n).map((v) => varintField(n, v));
    case 'TYPE_ENUM':
      return fc.integer({ min: -2, max: 12 }).map((v) => varintField(n, BigInt(v)));
    case 'TYPE_DOUBLE':
    case 'TYPE_FIXED64':
    case 'TYPE_SFIXED64':
      return anyDouble.map((v) => fixedField(n, 8, v));
    case 'TYPE_FLOAT':
    case 'TYPE_FIXED32':
    case 'TYPE_SFIXED32':
      return anyDouble.map((v) => fixedField(n, 4, v));
    case 'TYPE_STRING':
      return fc
        .oneof(
          { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS.map((s) => Buffer.from(s, 'utf8'))) },
          { weight: 2, arbitrary: fc.string({ maxLength: 24 }).map((s) => Buffer.from(s, 'utf8')) },
          // Not UTF-8 at all: a lone continuation byte, an overlong NUL, a bare surrogate.
          { weight: 1, arbitrary: fc.constantFrom(Buffer.from([0x80]), Buffer.from([0xc0, 0x80]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xff, 0xfe])) },
        )
        .map((bytes) => lengthDelimited(n, bytes));
    case 'TYPE_BYTES':
      return fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constant(new Uint8Array(0)), fc.constant(Buffer.from('{"__metadata__":{}}'))).map((b) => lengthDelimited(n, b));
    default:
      return undefined;
  }
}

function resolve(pkg: Package, scope: MessageDescriptor[], typeName: string): MessageDescriptor {
  const name = typeName.replace(/^\./, '');
  for (const outer of scope) {
    const nested = outer.nestedType.find((t) => t.name === name);
    if (nested) return nested;
  }
  for (const candidate of [name, `patchwork.v1.${name}`]) {
    const entry = pkg[candidate] as { type?: MessageDescriptor } | undefined;
    if (entry?.type && Array.isArray(entry.type.field)) return entry.type;
  }
  throw new Error(`proto-fuzz: cannot resolve message type ${typeName}`);
}

/** For each field of `descriptor`: one hostile occurrence of it, encoded with its tag. */
function fieldPieces(pkg: Package, descriptor: MessageDescriptor, scope: MessageDescriptor[], depth: number): Array<{ field: FieldDescriptor; piece: fc.Arbitrary<Piece> }> {
  const inner = [descriptor, ...scope];
  return descriptor.field.flatMap((field) => {
    if (field.type === 'TYPE_MESSAGE') {
      if (depth <= 0) return [];
      const nested = messageBytes(pkg, resolve(pkg, inner, field.typeName), inner, depth - 1);
      return [{ field, piece: nested.map((bytes) => lengthDelimited(field.number, bytes)) }];
    }
    const piece = scalarArbitrary(field);
    if (!piece) throw new Error(`proto-fuzz: unsupported field type ${field.type} (${descriptor.name}.${field.name})`);
    return [{ field, piece }];
  });
}

/** Encoded messages of `descriptor`, every field present or not, nested up to `depth` levels. */
function messageBytes(pkg: Package, descriptor: MessageDescriptor, scope: MessageDescriptor[], depth: number): fc.Arbitrary<Uint8Array> {
  const perField = fieldPieces(pkg, descriptor, scope, depth).map(({ field, piece }) =>
    field.label === 'LABEL_REPEATED' ? fc.array(piece, { maxLength: 3 }) : fc.option(piece, { freq: 3 }).map((p) => (p ? [p] : [])),
  );
  return fc.tuple(...perField).map((pieces) => new Uint8Array(Buffer.concat(pieces.flat())));
}

export interface FuzzMethod {
  /** `/patchwork.v1.Merge/SubmitMerge` */
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  /** One request message's bytes: random, or a hostile but well-formed encoding. */
  message: fc.Arbitrary<Uint8Array>;
}

export interface FuzzOptions {
  /** How deep nested messages are generated (default 3). */
  depth?: number;
  /**
   * Valid requests per method path. Protobuf merges concatenated encodings (the last scalar wins,
   * repeated fields append), so a template followed by one hostile field is the valid request with
   * that one field made hostile: such requests get past the first check and reach deeper code.
   */
  templates?: Record<string, Uint8Array[]>;
}

/** The methods of `serviceName` in `pkg`, each with its request-message arbitrary. */
export function fuzzMethods(pkg: Package, serviceName: string, options: FuzzOptions = {}): FuzzMethod[] {
  const depth = options.depth ?? 3;
  const service = pkg[serviceName] as Record<string, protoLoader.MethodDefinition<object, object> & { requestType: { type: MessageDescriptor } }> | undefined;
  if (!service) throw new Error(`proto-fuzz: ${serviceName} is not in the package definition`);
  return Object.values(service).map((method) => {
    const request = method.requestType.type;
    const choices: Array<{ weight: number; arbitrary: fc.Arbitrary<Uint8Array> }> = [
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }) },
      { weight: 2, arbitrary: messageBytes(pkg, request, [], depth) },
    ];
    const templates = options.templates?.[method.path] ?? [];
    const pieces = fieldPieces(pkg, request, [], depth).map((p) => p.piece);
    if (templates.length > 0 && pieces.length > 0) {
      const overridden = fc.tuple(fc.constantFrom(...templates), fc.oneof(...pieces)).map(([template, piece]) => new Uint8Array(Buffer.concat([template, piece])));
      choices.push({ weight: 4, arbitrary: overridden }, { weight: 1, arbitrary: fc.constantFrom(...templates) });
    }
    return { path: method.path, requestStream: method.requestStream, responseStream: method.responseStream, message: fc.oneof(...choices) };
  });
}

export interface RawOutcome {
  code: grpc.status;
  details: string;
  /** Response messages received before the status. */
  messages: number;
}

const identity = (b: Buffer) => b;

/**
 * Calls `method` with raw request bytes (one message, or a stream of them) and settles with the
 * status, whatever it is: transport failures are outcomes here, not exceptions.
 */
export function rawCall(client: grpc.Client, method: Pick<FuzzMethod, 'path' | 'requestStream' | 'responseStream'>, requests: Uint8Array[], metadata: grpc.Metadata, deadlineMs: number): Promise<RawOutcome> {
  const options = { deadline: Date.now() + deadlineMs };
  const buffers = requests.map((r) => Buffer.from(r));
  return new Promise((resolve) => {
    let messages = 0;
    const done = (err: grpc.ServiceError | null) => resolve(err ? { code: err.code, details: err.details, messages } : { code: grpc.status.OK, details: '', messages });
    if (method.requestStream && method.responseStream) {
      const call = client.makeBidiStreamRequest(method.path, identity, identity, metadata, options);
      call.on('data', () => messages++);
      call.on('error', done);
      call.on('end', () => done(null));
      for (const b of buffers) call.write(b);
      call.end();
    } else if (method.requestStream) {
      const call = client.makeClientStreamRequest(method.path, identity, identity, metadata, options, (err) => done(err));
      for (const b of buffers) call.write(b);
      call.end();
    } else if (method.responseStream) {
      const call = client.makeServerStreamRequest(method.path, identity, identity, buffers[0] ?? Buffer.alloc(0), metadata, options);
      let settled = false;
      call.on('data', () => messages++);
      call.on('error', (err: grpc.ServiceError) => {
        if (!settled) (settled = true), done(err);
      });
      call.on('status', (status: grpc.StatusObject) => {
        if (!settled && status.code === grpc.status.OK) (settled = true), done(null);
      });
    } else {
      client.makeUnaryRequest(method.path, identity, identity, buffers[0] ?? Buffer.alloc(0), metadata, options, (err) => done(err));
    }
  });
}
