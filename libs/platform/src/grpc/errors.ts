import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { PatchworkError, type ErrorCode } from '@patchwork/errors';
import type { Logger } from '../observability/logger';
import { STATUS_DETAILS_KEY, decodeStatusDetails, encodeStatusDetails } from './status-details';

/** `google.rpc.ErrorInfo.domain` of errors raised by Patchwork servers. */
export const ERROR_DOMAIN = 'patchwork';

/** The one mapping of Patchwork's closed error set onto gRPC status codes. */
const TO_GRPC: Record<ErrorCode, grpc.status> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  OUT_OF_RANGE: grpc.status.OUT_OF_RANGE,
  NOT_FOUND: grpc.status.NOT_FOUND,
  ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  ABORTED: grpc.status.ABORTED,
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  CANCELLED: grpc.status.CANCELLED,
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
  UNIMPLEMENTED: grpc.status.UNIMPLEMENTED,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  DATA_LOSS: grpc.status.DATA_LOSS,
  INTERNAL: grpc.status.INTERNAL,
};

const FROM_GRPC = new Map<number, ErrorCode>(Object.entries(TO_GRPC).map(([code, status]) => [status, code as ErrorCode]));

export function grpcStatusOf(code: ErrorCode): grpc.status {
  return TO_GRPC[code];
}

/** OK and UNKNOWN have no Patchwork counterpart: a failure without a known cause is INTERNAL. */
export function errorCodeOf(status: number): ErrorCode {
  return FROM_GRPC.get(status) ?? 'INTERNAL';
}

export interface ToServiceErrorOptions {
  /** Receives the real error of an INTERNAL failure, which the client never sees. */
  logger?: Logger;
}

/**
 * Bounds on what a status carries. Messages often quote the offending input, and a client may send
 * megabytes of it; trailers over HTTP/2's header-list limit (64 KiB in Node) break the connection
 * for every call on it rather than failing one. These keep the status trailers under ~16 KiB.
 */
export const MAX_STATUS_MESSAGE_CHARS = 1024;
const MAX_VIOLATIONS = 20;
const MAX_FIELD_CHARS = 128;
const MAX_DESCRIPTION_CHARS = 256;

/** `text` cut to `max` characters (whole code points), saying how much was left out. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  const kept = Array.from(text.slice(0, max + 1)).slice(0, max).join('').replace(/[\ud800-\udbff]$/, '');
  return `${kept}… (${text.length - kept.length} more characters)`;
}

function boundedError(error: PatchworkError): PatchworkError {
  const message = truncateText(error.message, MAX_STATUS_MESSAGE_CHARS);
  const tooMany = error.violations.length > MAX_VIOLATIONS;
  const tooLong = error.violations.some((v) => v.field.length > MAX_FIELD_CHARS || v.description.length > MAX_DESCRIPTION_CHARS);
  if (message === error.message && !tooMany && !tooLong) return error;
  const violations = error.violations.slice(0, MAX_VIOLATIONS).map((v) => ({ field: truncateText(v.field, MAX_FIELD_CHARS), description: truncateText(v.description, MAX_DESCRIPTION_CHARS) }));
  return new PatchworkError(error.code, message, { violations, cause: error, retryable: error.retryable });
}

function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/**
 * Maps anything a handler throws to the status sent to the client. A PatchworkError keeps its code
 * and message, and its field violations travel as `google.rpc.BadRequest` in the
 * `grpc-status-details-bin` trailer (next to a `google.rpc.ErrorInfo` whose reason is the Patchwork
 * code). Anything else, and INTERNAL PatchworkErrors, become INTERNAL with a generic message and a
 * reference that is logged with the real error: stack traces and paths stay on the server.
 */
export function toServiceError(err: unknown, options: ToServiceErrorOptions = {}): grpc.StatusObject {
  let error: PatchworkError;
  if (err instanceof PatchworkError && err.code !== 'INTERNAL') error = err;
  else if (isAbortError(err)) error = new PatchworkError('CANCELLED', 'operation cancelled', { cause: err });
  else {
    const ref = randomBytes(6).toString('hex');
    options.logger?.error({ err, errorRef: ref }, 'internal error in RPC handler');
    error = new PatchworkError('INTERNAL', `internal error (ref ${ref}); see server logs`);
  }
  error = boundedError(error);
  const code = TO_GRPC[error.code];
  const metadata = new grpc.Metadata();
  metadata.set(
    STATUS_DETAILS_KEY,
    encodeStatusDetails({
      code,
      message: error.message,
      violations: error.violations,
      errorInfo: { reason: error.code, domain: ERROR_DOMAIN, metadata: { retryable: String(error.retryable) } },
    }),
  );
  return { code, details: error.message, metadata };
}

function isStatusLike(err: unknown): err is { code: number; details?: unknown; message?: unknown; metadata?: unknown } {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'number';
}

/**
 * The client side of `toServiceError`: turns a failed call back into a PatchworkError with the
 * server's code, message and field violations. A status from a non-Patchwork server maps by code.
 */
export function fromServiceError(err: unknown): PatchworkError {
  if (err instanceof PatchworkError) return err;
  if (!isStatusLike(err)) return PatchworkError.from(err);
  const code = errorCodeOf(err.code);
  const message = typeof err.details === 'string' && err.details !== '' ? err.details : String(err.message ?? grpc.status[err.code] ?? 'unknown error');
  let violations: PatchworkError['violations'] = [];
  let retryable: boolean | undefined;
  const metadata = err.metadata instanceof grpc.Metadata ? err.metadata : undefined;
  const raw = metadata?.get(STATUS_DETAILS_KEY)[0];
  if (raw instanceof Uint8Array) {
    try {
      const details = decodeStatusDetails(raw);
      violations = details.violations;
      // The status code already names the Patchwork code (the mapping is one-to-one); ErrorInfo
      // adds what the code alone cannot: whether the server considered the failure retryable.
      const retry = details.errorInfo?.domain === ERROR_DOMAIN ? details.errorInfo.metadata.retryable : undefined;
      if (retry === 'true' || retry === 'false') retryable = retry === 'true';
    } catch {
      // Undecodable details from some other server: the status code and message still stand.
    }
  }
  return new PatchworkError(code, message, { violations, cause: err, retryable });
}
