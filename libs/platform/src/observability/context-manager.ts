import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, context as otelContext, type Context, type ContextManager } from '@opentelemetry/api';

/**
 * The OpenTelemetry API keeps the active trace context in a process-wide context manager and ships
 * a no-op one, under which `context.with` forgets its context at the first `await`. This one keeps it
 * in an AsyncLocalStorage, so a context entered around an RPC handler or a job follows every await
 * of that handler (and the log lines it writes) without being passed by hand.
 */
export class AsyncLocalContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(context, () => fn.call(thisArg, ...args) as ReturnType<F>);
  }

  /** Functions only: Patchwork never hands event emitters across a context boundary. */
  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    const manager = this;
    return function bound(this: unknown, ...args: unknown[]) {
      return manager.with(context, () => fn.apply(this, args));
    } as unknown as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.storage.disable();
    return this;
  }
}

let installed = false;

/**
 * Registers the AsyncLocalStorage context manager once per process. If the embedding application
 * registered its own (an OpenTelemetry SDK, say), the API keeps that one, which serves as well.
 */
export function installContextManager(): void {
  if (installed) return;
  installed = true;
  otelContext.setGlobalContextManager(new AsyncLocalContextManager());
}
