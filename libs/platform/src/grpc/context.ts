import type * as grpc from '@grpc/grpc-js';
import { PatchworkError } from '@patchwork/errors';
import type { Logger } from '../observability/logger';

/** What an adapted handler receives next to its request. */
export interface CallContext {
  /** Request metadata; the bearer token has already been checked and removed. */
  readonly metadata: grpc.Metadata;
  /**
   * Aborted when the client cancels, the deadline passes or the server force-closes the call; the
   * reason is a PatchworkError (CANCELLED or DEADLINE_EXCEEDED). Pass it to every await that can
   * take long, and pass `deadline` and `signal` on to downstream calls.
   */
  readonly signal: AbortSignal;
  /** The client's deadline, or undefined when it set none. */
  readonly deadline: Date | undefined;
  /** Client address as grpc-js reports it (`127.0.0.1:53420`). */
  readonly peer: string;
  /** Full method path, `/patchwork.v1.Merge/SubmitMerge`. */
  readonly method: string;
  /** Bound to the method, peer and request id. */
  readonly logger: Logger;
}

/** The part of grpc-js's server call objects (unary and streaming alike) that a scope needs. */
interface CallLike {
  readonly metadata: grpc.Metadata;
  getDeadline(): grpc.Deadline;
  getPeer(): string;
  getPath(): string;
  on(event: 'cancelled', listener: () => void): unknown;
  off(event: 'cancelled', listener: () => void): unknown;
  readonly cancelled: boolean;
}

/** The call's deadline as a Date, or undefined when the client set none (grpc-js reports Infinity). */
export function callDeadline(call: { getDeadline(): grpc.Deadline }): Date | undefined {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

/** Milliseconds left before the deadline (negative once past), Infinity without one. */
export function remainingMs(deadline: Date | undefined, now = Date.now()): number {
  return deadline === undefined ? Infinity : deadline.getTime() - now;
}

/**
 * A client whose deadline passes resets the stream (the same RST_STREAM as a cancel), and its clock
 * started before the request reached us, so its reset can land shortly before our own deadline
 * timer. A cancel this close to the deadline is counted as the deadline.
 */
const DEADLINE_SLACK_MS = 50;

/** Why a call ended early, as the PatchworkError that aborts `ctx.signal`. */
export function cancellationReason(deadline: Date | undefined, now = Date.now()): PatchworkError {
  return remainingMs(deadline, now) <= DEADLINE_SLACK_MS
    ? new PatchworkError('DEADLINE_EXCEEDED', 'the call deadline passed')
    : new PatchworkError('CANCELLED', 'the client cancelled the call');
}

export interface CallScope {
  readonly ctx: CallContext;
  /** Detaches the cancellation listener once the handler has settled. */
  dispose(): void;
}

export function openCallScope(call: CallLike, logger: Logger): CallScope {
  const deadline = callDeadline(call);
  const controller = new AbortController();
  const onCancelled = () => controller.abort(cancellationReason(deadline));
  if (call.cancelled) onCancelled();
  else call.on('cancelled', onCancelled);
  const requestId = call.metadata.get('x-request-id')[0];
  const method = call.getPath();
  const peer = call.getPeer();
  const bindings: Record<string, unknown> = { method, peer };
  if (typeof requestId === 'string') bindings.requestId = requestId;
  return {
    ctx: { metadata: call.metadata, signal: controller.signal, deadline, peer, method, logger: logger.child(bindings) },
    dispose: () => call.off('cancelled', onCancelled),
  };
}
