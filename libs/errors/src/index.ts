export { ErrorCodes, isErrorCode, isRetryableCode } from './codes';
export type { ErrorCode } from './codes';
export { PatchworkError, ViolationCollector, invalidArgument } from './patchwork-error';
export type { FieldViolation, PatchworkErrorOptions } from './patchwork-error';
