import * as path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import fc from 'fast-check';
import { BAD_REQUEST_TYPE_URL, ERROR_INFO_TYPE_URL, decodeStatusDetails, encodeStatusDetails, type StatusDetails } from './status-details';

const codec = protoLoader.loadSync(path.join(__dirname, 'testing/rpc_status.proto'), { keepCase: false, defaults: true })['google.rpc.Codec'] as grpc.ServiceDefinition;
const statusMethod = codec.Status;
const pairMethod = codec.BadRequest;

const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const details: fc.Arbitrary<StatusDetails> = fc.record({
  code: fc.integer({ min: 1, max: 16 }),
  message: text,
  violations: fc.array(fc.record({ field: text, description: text }), { maxLength: 5 }),
  errorInfo: fc.option(fc.record({ reason: text, domain: text, metadata: fc.dictionary(text, text, { maxKeys: 3 }) }), { nil: undefined }),
});

describe('status details codec', () => {
  it('round-trips through its own decoder', () => {
    fc.assert(
      fc.property(details, (d) => {
        const decoded = decodeStatusDetails(encodeStatusDetails(d));
        expect(decoded).toEqual(d.errorInfo === undefined ? { code: d.code, message: d.message, violations: d.violations } : d);
      }),
    );
  });

  it('writes bytes protobufjs reads as google.rpc.Status / BadRequest / ErrorInfo', () => {
    fc.assert(
      fc.property(details, (d) => {
        const status = statusMethod.requestDeserialize(encodeStatusDetails(d)) as { code: number; message: string; details: Array<{ type_url: string; value: Buffer }> };
        expect(status.code).toBe(d.code);
        expect(status.message).toBe(d.message);
        const badRequest = status.details.find((a) => a.type_url === BAD_REQUEST_TYPE_URL);
        if (d.violations.length === 0) expect(badRequest).toBeUndefined();
        else {
          // protobufjs keeps Any's field names as in any.proto. BadRequest and ErrorInfo are decoded by re-wrapping their bytes as method payloads.
          const decoded = pairMethod.requestDeserialize(badRequest!.value) as { fieldViolations: Array<{ field: string; description: string }> };
          expect(decoded.fieldViolations.map(({ field, description }) => ({ field, description }))).toEqual(d.violations);
        }
        const errorInfo = status.details.find((a) => a.type_url === ERROR_INFO_TYPE_URL);
        if (d.errorInfo === undefined) expect(errorInfo).toBeUndefined();
        else {
          const decoded = pairMethod.responseDeserialize(errorInfo!.value) as { reason: string; domain: string; metadata: Record<string, string> };
          expect({ ...decoded, metadata: { ...decoded.metadata } }).toEqual(d.errorInfo);
        }
      }),
    );
  });

  it('reads what protobufjs writes, skipping unknown detail types', () => {
    const badRequest = pairMethod.requestSerialize({ fieldViolations: [{ field: 'models[1].weight', description: 'must be finite' }] });
    const bytes = statusMethod.requestSerialize({
      code: 3,
      message: 'bad',
      details: [
        { type_url: 'type.googleapis.com/google.rpc.RetryInfo', value: Buffer.from([8, 1]) },
        { type_url: BAD_REQUEST_TYPE_URL, value: badRequest },
      ],
    });
    expect(decodeStatusDetails(bytes)).toEqual({ code: 3, message: 'bad', violations: [{ field: 'models[1].weight', description: 'must be finite' }] });
  });

  it('throws on truncated input', () => {
    const bytes = encodeStatusDetails({ code: 3, message: 'a longer message', violations: [] });
    expect(() => decodeStatusDetails(bytes.subarray(0, bytes.length - 3))).toThrow();
  });
});
