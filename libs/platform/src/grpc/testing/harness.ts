import * as fs from 'node:fs';
import { PatchworkError } from '@patchwork/errors';
import * as path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { createLogger, type LogDestination, type Logger } from '../../observability/logger';
import { createGrpcClient, type GrpcClientOptions } from '../client';
import { startGrpcServer, type RunningServer } from '../server';
import type { GrpcServerOptions } from '../server-options';
import { ECHO_SERVICE_NAME, loadEcho, type EchoClient } from './echo';

/** Collects JSON log lines in memory. */
export class LogCapture implements LogDestination {
  readonly raw: string[] = [];
  write(line: string): void {
    this.raw.push(line);
  }
  get records(): Array<Record<string, unknown>> {
    return this.raw.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
  find(msg: string): Array<Record<string, unknown>> {
    return this.records.filter((r) => r.msg === msg);
  }
}

export function testCert(name: 'ca.crt' | 'server.crt' | 'server.key' | 'client.crt' | 'client.key'): Buffer {
  return fs.readFileSync(path.join(__dirname, 'certs', name));
}

export interface EchoHarness {
  server: RunningServer;
  logs: LogCapture;
  logger: Logger;
  client(options?: Partial<GrpcClientOptions>): EchoClient;
  close(): Promise<void>;
}

/** An echo server on 127.0.0.1:<ephemeral> with the given handlers, and clients that are closed with it. */
export async function startEcho(implementation: grpc.UntypedServiceImplementation, options: Partial<GrpcServerOptions> = {}): Promise<EchoHarness> {
  const echo = loadEcho();
  const logs = new LogCapture();
  const logger = createLogger({ service: 'test', level: 'debug', destination: logs });
  const server = await startGrpcServer({
    host: '127.0.0.1',
    port: 0,
    services: [{ name: ECHO_SERVICE_NAME, definition: echo.definition, implementation }],
    logger,
    shutdown: { handleSignals: false, graceMs: 2000 },
    ...options,
  });
  const clients: EchoClient[] = [];
  return {
    server,
    logs,
    logger,
    client(clientOptions = {}) {
      const client = createGrpcClient(echo.Client, { address: server.address, ...clientOptions });
      clients.push(client);
      return client;
    },
    async close() {
      for (const c of clients) c.close();
      await server.shutdown('test finished');
    },
  };
}

/** The PatchworkError a promise rejects with; fails the test if it resolves or rejects with something else. */
export async function rejection(promise: Promise<unknown>): Promise<PatchworkError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  if (!(outcome.error instanceof PatchworkError)) throw new Error(`expected a PatchworkError, got ${String(outcome.error)}`);
  return outcome.error;
}
