import { errors as natsErrors } from '@nats-io/transport-node';
import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import { PatchworkError } from '@patchwork/errors';

/** JetStream API error codes the fabric reacts to (nats-server `server/errors.json`). */
export const JsCodes = {
  consumerNotFound: 10014,
  noMessageFound: 10037,
  msgDeleteFailed: 10057,
  streamNotFound: 10059,
  wrongLastSequence: 10071,
  wrongLastSequenceUnknown: 10164,
} as const;

export function jsApiCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

const unavailable = [
  natsErrors.ClosedConnectionError,
  natsErrors.ConnectionError,
  natsErrors.DrainingConnectionError,
  natsErrors.NoRespondersError,
  natsErrors.TimeoutError,
  natsErrors.RequestError,
];

/** Maps a NATS client error onto the closed error set; `what` names the failed operation. */
export function fromNats(err: unknown, what: string): PatchworkError {
  if (err instanceof PatchworkError) return err;
  const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
  const options = { cause: err };
  // JetStreamNotEnabled is not exported by the client's public entry point; match it by name.
  const jetStreamOff = err instanceof Error && err.name === 'JetStreamNotEnabled';
  if (jetStreamOff || unavailable.some((type) => err instanceof type)) return new PatchworkError('UNAVAILABLE', message, options);
  if (err instanceof natsErrors.AuthorizationError || err instanceof natsErrors.UserAuthenticationExpiredError) {
    return new PatchworkError('UNAUTHENTICATED', message, options);
  }
  if (err instanceof natsErrors.PermissionViolationError) return new PatchworkError('PERMISSION_DENIED', message, options);
  if (err instanceof natsErrors.InvalidArgumentError || err instanceof natsErrors.InvalidSubjectError) {
    return new PatchworkError('INVALID_ARGUMENT', message, options);
  }
  if (err instanceof JetStreamApiError) {
    switch (err.code) {
      case JsCodes.consumerNotFound:
      case JsCodes.noMessageFound:
      case JsCodes.streamNotFound:
        return new PatchworkError('NOT_FOUND', message, options);
      case JsCodes.wrongLastSequence:
      case JsCodes.wrongLastSequenceUnknown:
        return new PatchworkError('ABORTED', message, options);
    }
    if (err.status === 503) return new PatchworkError('UNAVAILABLE', message, options);
    if (err.status === 400) return new PatchworkError('INVALID_ARGUMENT', message, options);
    return new PatchworkError('INTERNAL', message, options);
  }
  if (err instanceof JetStreamError) return new PatchworkError('UNAVAILABLE', message, options);
  return new PatchworkError('INTERNAL', message, options);
}
