import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PatchworkError } from '@patchwork/errors';
import type { Metrics } from './metrics';
import { nullLogger, type Logger } from './logger';

export interface MetricsServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  /** Default `0.0.0.0`: Prometheus scrapes from outside the pod. */
  host?: string;
  metrics: Metrics;
  logger?: Logger;
}

export interface RunningMetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

function isValidPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65535;
}

/**
 * Serves `/metrics` (Prometheus text format) and a trivial `/healthz` on a side port, apart from the
 * gRPC port, so scraping needs neither HTTP/2 nor the bearer token.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<RunningMetricsServer> {
  if (!isValidPort(options.port)) {
    throw new PatchworkError('INVALID_ARGUMENT', `metrics port: ${String(options.port)} is not an integer in [0, 65535]`);
  }
  const { metrics } = options;
  const logger = options.logger ?? nullLogger();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    metrics.render().then(
      (body) => {
        res.writeHead(200, { 'content-type': metrics.contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        logger.error({ err }, 'rendering metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n');
      },
    );
  });
  const host = options.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new PatchworkError('UNAVAILABLE', `metrics server: cannot listen on ${host}:${options.port}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen(options.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, host }, 'metrics server listening');
  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection would otherwise hold close() open until it times out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
