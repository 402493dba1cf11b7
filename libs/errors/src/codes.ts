/**
 * The closed set of error codes used everywhere in Patchwork. They carry gRPC semantics so the
 * service edge maps them once, and a CLI maps them to exit codes. Libraries throw these; they never
 * know about gRPC.
 */
export const ErrorCodes = {
  /** Malformed input regardless of state: bad shape, dtype, rank, corrupt file, unknown key. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** Input is well formed but the system is not in a state to accept it (adapter/base mismatch). */
  FAILED_PRECONDITION: 'FAILED_PRECONDITION',
  /** A value outside its allowed range (density outside [0, 1]). */
  OUT_OF_RANGE: 'OUT_OF_RANGE',
  NOT_FOUND: 'NOT_FOUND',
  /** An idempotency key reused with a different body, or a create that races an existing record. */
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  /** Optimistic concurrency conflict (KV revision mismatch); retrying the whole read-modify-write is safe. */
  ABORTED: 'ABORTED',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  /** Memory or size budget exceeded (wasm heap ceiling, request size). */
  RESOURCE_EXHAUSTED: 'RESOURCE_EXHAUSTED',
  CANCELLED: 'CANCELLED',
  DEADLINE_EXCEEDED: 'DEADLINE_EXCEEDED',
  UNIMPLEMENTED: 'UNIMPLEMENTED',
  /** A dependency (NATS, disk) is unavailable; retrying later may succeed. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** Stored data failed an integrity check (digest mismatch). */
  DATA_LOSS: 'DATA_LOSS',
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Codes where a retry of the same work may succeed; everything else fails a job deterministically. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['UNAVAILABLE', 'ABORTED', 'DEADLINE_EXCEEDED', 'INTERNAL']);

export function isRetryableCode(code: ErrorCode): boolean {
  return RETRYABLE.has(code);
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ErrorCodes, value);
}
