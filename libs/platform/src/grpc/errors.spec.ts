import * as grpc from '@grpc/grpc-js';
import { ErrorCodes, PatchworkError, ViolationCollector } from '@patchwork/errors';
import { createLogger } from '../observability/logger';
import { LogCapture } from './testing/harness';
import { errorCodeOf, fromServiceError, grpcStatusOf, toServiceError } from './errors';
import { STATUS_DETAILS_KEY, decodeStatusDetails } from './status-details';

describe('error code mapping', () => {
  it('maps every Patchwork code to the gRPC status of the same name and back', () => {
    for (const code of Object.values(ErrorCodes)) {
      expect(grpc.status[grpcStatusOf(code)]).toBe(code);
      expect(errorCodeOf(grpcStatusOf(code))).toBe(code);
    }
  });

  it('treats OK, UNKNOWN and out-of-range statuses as INTERNAL', () => {
    expect(errorCodeOf(grpc.status.OK)).toBe('INTERNAL');
    expect(errorCodeOf(grpc.status.UNKNOWN)).toBe('INTERNAL');
    expect(errorCodeOf(99)).toBe('INTERNAL');
  });
});

describe('toServiceError', () => {
  it('keeps code and message and attaches violations as google.rpc.BadRequest', () => {
    const v = new ViolationCollector();
    v.add('models[0].weight', 'must be finite');
    v.add('density', 'must be in [0, 1]');
    let thrown: unknown;
    try {
      v.throwIfAny();
    } catch (err) {
      thrown = err;
    }
    const status = toServiceError(thrown);
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toBe('models[0].weight: must be finite; density: must be in [0, 1]');
    const details = decodeStatusDetails(status.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer);
    expect(details.code).toBe(3);
    expect(details.violations).toEqual([
      { field: 'models[0].weight', description: 'must be finite' },
      { field: 'density', description: 'must be in [0, 1]' },
    ]);
    expect(details.errorInfo).toEqual({ reason: 'INVALID_ARGUMENT', domain: 'patchwork', metadata: { retryable: 'false' } });
  });

  it('hides unknown errors behind INTERNAL and logs the real one with a shared reference', () => {
    const logs = new LogCapture();
    const logger = createLogger({ service: 't', destination: logs });
    const status = toServiceError(new TypeError('cannot read /secret/path/weights.bin'), { logger });
    expect(status.code).toBe(grpc.status.INTERNAL);
    expect(status.details).not.toContain('secret');
    const ref = /ref ([0-9a-f]{12})/.exec(status.details)?.[1];
    expect(ref).toBeDefined();
    const [record] = logs.find('internal error in RPC handler');
    expect(record).toMatchObject({ level: 'error', errorRef: ref, err: { type: 'TypeError', message: 'cannot read /secret/path/weights.bin' } });
  });

  it('treats INTERNAL PatchworkErrors and thrown non-errors as internal too', () => {
    expect(toServiceError(new PatchworkError('INTERNAL', 'invariant broken at /x')).details).not.toContain('/x');
    expect(toServiceError('a string').code).toBe(grpc.status.INTERNAL);
  });

  it('maps AbortError to CANCELLED', () => {
    const err = new Error('aborted');
    err.name = 'AbortError';
    expect(toServiceError(err).code).toBe(grpc.status.CANCELLED);
  });
});

describe('fromServiceError', () => {
  function serviceError(err: PatchworkError): grpc.ServiceError {
    const status = toServiceError(err);
    return Object.assign(new Error(`${status.code} ${grpc.status[status.code]}: ${status.details}`), status);
  }

  it('restores code, message, violations and retryability', () => {
    const original = new PatchworkError('FAILED_PRECONDITION', 'adapter base differs', { violations: [{ field: 'base', description: 'mismatch' }], retryable: true });
    const back = fromServiceError(serviceError(original));
    expect(back).toBeInstanceOf(PatchworkError);
    expect(back.code).toBe('FAILED_PRECONDITION');
    expect(back.message).toBe('adapter base differs');
    expect(back.violations).toEqual(original.violations);
    expect(back.retryable).toBe(true);
  });

  it('maps a bare status from another server by its code', () => {
    const err = Object.assign(new Error('14 UNAVAILABLE: no connection'), { code: 14, details: 'no connection', metadata: new grpc.Metadata() });
    const back = fromServiceError(err);
    expect(back.code).toBe('UNAVAILABLE');
    expect(back.retryable).toBe(true);
    expect(back.message).toBe('no connection');
  });

  it('ignores undecodable details', () => {
    const metadata = new grpc.Metadata();
    metadata.set(STATUS_DETAILS_KEY, Buffer.from([0x0a, 0xff]));
    const back = fromServiceError({ code: 5, details: 'gone', metadata });
    expect(back.code).toBe('NOT_FOUND');
    expect(back.violations).toEqual([]);
  });

  it('normalises non-gRPC errors', () => {
    expect(fromServiceError(new Error('x')).code).toBe('INTERNAL');
  });
});
