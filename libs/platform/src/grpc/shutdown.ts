import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../observability/logger';

export type ShutdownHook = () => Promise<void> | void;

export interface ShutdownPlan {
  server: Pick<grpc.Server, 'tryShutdown' | 'forceShutdown'>;
  logger: Logger;
  graceMs: number;
  notServingDelayMs: number;
  /** Step 1: stop advertising readiness. */
  markNotServing(): void;
  hooks: readonly ShutdownHook[];
}

export interface ShutdownRun {
  /** Settles once the server is closed, gracefully or not. */
  done: Promise<void>;
  /** Skips what is left of the grace period. */
  force(why: string): void;
}

/**
 * NOT_SERVING -> optional delay -> drain hooks (concurrently) -> tryShutdown, with one grace timer
 * over the whole sequence that ends it with forceShutdown: the pod's termination grace period counts
 * from the signal, not from whichever step happens to be slow.
 */
export function runShutdown(plan: ShutdownPlan): ShutdownRun {
  const { server, logger } = plan;
  let forced = false;
  let onForced: () => void = () => undefined;
  const forcedSignal = new Promise<void>((resolve) => (onForced = resolve));
  const force = (why: string) => {
    if (forced) return;
    forced = true;
    logger.warn({ why }, 'forcing gRPC server shutdown; in-flight calls are cancelled');
    server.forceShutdown();
    onForced();
  };
  const timer = setTimeout(() => force(`grace period of ${plan.graceMs} ms elapsed`), plan.graceMs);
  const orForced = (work: Promise<unknown>) => Promise.race([work, forcedSignal]);

  const done = (async () => {
    plan.markNotServing();
    if (plan.notServingDelayMs > 0) await orForced(new Promise((resolve) => setTimeout(resolve, plan.notServingDelayMs).unref()));
    // Each failure is logged as it happens: a sibling hook may still hang until the grace ends.
    const hooks = plan.hooks.map((hook) =>
      Promise.resolve()
        .then(hook)
        .catch((err: unknown) => logger.error({ err }, 'shutdown hook failed')),
    );
    await orForced(Promise.all(hooks));
    if (!forced) await orForced(new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
    clearTimeout(timer);
  })();
  return { done, force };
}
