/**
 * The little the fabric logs: background failures nobody awaits (a pull loop retrying, a handler
 * that threw, a dead-letter move that failed). Structurally compatible with pino's logger.
 */
export interface FabricLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export const silentLogger: FabricLogger = {
  warn: () => undefined,
  error: () => undefined,
};

export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { err: { name: err.name, message: err.message, ...(code === undefined ? {} : { code }) } };
  }
  return { err: String(err) };
}
