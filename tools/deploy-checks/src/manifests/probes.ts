import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { isObject } from '../kustomize/strategic-merge';
import { REPO_ROOT } from '../repo-paths';

/** Where the images put the repository's files (WORKDIR of deploy/docker/Dockerfile*). */
export const IMAGE_APP_DIR = '/app';
export const PROBE_SCRIPT = 'deploy/docker/grpc-health-probe.cjs';

export interface ProbeTarget {
  via: 'grpc' | 'exec';
  port: number;
  /** The health key asked for; '' is the whole server. */
  service: string;
  tls: boolean;
  /** exec probes: the script in the repository the image's path corresponds to. */
  script?: string;
}

/**
 * What a probe checks: the kubelet's native gRPC probe, or an exec of our health-probe script.
 * Anything else (httpGet, tcpSocket, another command) is an error: it would not ask the gRPC
 * health service at all.
 */
export function probeTarget(probe: unknown, where: string): ProbeTarget {
  if (!isObject(probe)) throw new PatchworkError('NOT_FOUND', `${where}: no probe`);
  const handlers = ['grpc', 'exec', 'httpGet', 'tcpSocket'].filter((h) => probe[h] !== undefined);
  if (handlers.length !== 1) throw new PatchworkError('INVALID_ARGUMENT', `${where}: exactly one probe handler expected, found ${handlers.join(', ') || 'none'}`);
  if (isObject(probe['grpc'])) {
    const grpc = probe['grpc'] as { port: number; service?: string };
    return { via: 'grpc', port: grpc.port, service: grpc.service ?? '', tls: false };
  }
  const command = isObject(probe['exec']) ? (probe['exec']['command'] as string[] | undefined) : undefined;
  if (!command || command[0] !== 'node' || command[1] !== path.posix.join(IMAGE_APP_DIR, PROBE_SCRIPT)) {
    throw new PatchworkError('INVALID_ARGUMENT', `${where}: probes must use grpc or exec node ${path.posix.join(IMAGE_APP_DIR, PROBE_SCRIPT)}, got ${JSON.stringify(probe)}`);
  }
  const target: ProbeTarget = { via: 'exec', port: NaN, service: '', tls: false, script: path.join(REPO_ROOT, PROBE_SCRIPT) };
  for (const arg of command.slice(2)) {
    const [flag, value] = arg.split(/=(.*)/s, 2);
    if (flag === '--port') target.port = Number(value);
    else if (flag === '--service') target.service = value ?? '';
    else if (flag === '--tls' && value === undefined) target.tls = true;
    else if (flag !== '--timeout-ms') throw new PatchworkError('INVALID_ARGUMENT', `${where}: unexpected probe argument ${JSON.stringify(arg)}`);
  }
  return target;
}
