#!/usr/bin/env node
// An exec probe for Kubernetes: one grpc.health.v1.Health/Check call to this container's own gRPC
// port. The kubelet's native gRPC probe cannot dial TLS, so deploy/k8s/components/tls runs this
// instead. Exit codes: 0 SERVING, 1 answered but not serving (NOT_SERVING, UNKNOWN, or a service key
// the server does not know), 2 no answer (connection, TLS or deadline failure), 64 bad usage.
//
//   node grpc-health-probe.cjs --port=50051 [--service=patchwork.v1.Merge] [--tls [--tls-ca=FILE]]
//                              [--host=127.0.0.1] [--timeout-ms=4000]
//
// Plain CommonJS with @grpc/grpc-js as its only dependency: a probe starts a fresh Node process
// every few seconds, so it loads no proto files and encodes the two tiny messages by hand.
'use strict';

const fs = require('node:fs');
const grpc = require('@grpc/grpc-js');

const STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
const USAGE = 'usage: grpc-health-probe.cjs --port=N [--service=NAME] [--tls [--tls-ca=FILE]] [--host=HOST] [--timeout-ms=N]';

function usage(problem) {
  process.stderr.write(`grpc-health-probe: ${problem}\n${USAGE}\n`);
  process.exit(64);
}

function parseArgs(argv) {
  const options = { host: '127.0.0.1', port: undefined, service: '', tls: false, tlsCa: undefined, timeoutMs: 4000 };
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!match) usage(`unexpected argument ${JSON.stringify(arg)}`);
    const [, name, value] = match;
    const needValue = () => (value === undefined ? usage(`--${name} needs a value (--${name}=...)`) : value);
    switch (name) {
      case 'host':
        options.host = needValue();
        break;
      case 'port':
        options.port = Number(needValue());
        if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) usage(`--port must be an integer in [1, 65535], got ${JSON.stringify(value)}`);
        break;
      case 'service':
        options.service = value ?? '';
        break;
      case 'tls':
        if (value !== undefined) usage('--tls takes no value');
        options.tls = true;
        break;
      case 'tls-ca':
        options.tlsCa = needValue();
        break;
      case 'timeout-ms':
        options.timeoutMs = Number(needValue());
        if (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 1) usage(`--timeout-ms must be a positive integer, got ${JSON.stringify(value)}`);
        break;
      default:
        usage(`unknown option --${name}`);
    }
  }
  if (options.port === undefined) usage('--port is required');
  if (options.tlsCa !== undefined && !options.tls) usage('--tls-ca needs --tls');
  return options;
}

function credentials(options) {
  if (!options.tls) return grpc.credentials.createInsecure();
  if (options.tlsCa === undefined) {
    // The probe dials its own container over loopback: there is no peer whose identity is in doubt.
    return grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: false });
  }
  let ca;
  try {
    ca = fs.readFileSync(options.tlsCa);
  } catch (err) {
    usage(`cannot read --tls-ca ${options.tlsCa}: ${err.code ?? err.message}`);
  }
  // The chain must lead to the CA, but the certificate names the Service, not 127.0.0.1.
  return grpc.credentials.createSsl(ca, null, null, { checkServerIdentity: () => undefined });
}

function varint(n) {
  const bytes = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
  return bytes;
}

/** HealthCheckRequest { string service = 1; } */
function encodeRequest(request) {
  const service = Buffer.from(request.service, 'utf8');
  if (service.length === 0) return Buffer.alloc(0);
  return Buffer.concat([Buffer.from([0x0a, ...varint(service.length)]), service]);
}

/** HealthCheckResponse { ServingStatus status = 1; }; unknown fields are skipped. */
function decodeResponse(bytes) {
  let offset = 0;
  const readVarint = () => {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (offset >= bytes.length) throw new Error('truncated varint in the health response');
      const byte = bytes[offset++];
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new Error('overlong varint in the health response');
  };
  let status = 0;
  while (offset < bytes.length) {
    const tag = readVarint();
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (wireType === 0) {
      const value = readVarint();
      if (field === 1) status = value;
    } else if (wireType === 2) {
      offset += readVarint();
    } else if (wireType === 1) {
      offset += 8;
    } else if (wireType === 5) {
      offset += 4;
    } else {
      throw new Error(`unsupported wire type ${wireType} in the health response`);
    }
  }
  if (offset > bytes.length) throw new Error('truncated health response');
  return { status };
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const target = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
  const client = new grpc.Client(target, credentials(options));
  const deadline = new Date(Date.now() + options.timeoutMs);
  const key = JSON.stringify(options.service);
  client.makeUnaryRequest(
    '/grpc.health.v1.Health/Check',
    encodeRequest,
    decodeResponse,
    { service: options.service },
    new grpc.Metadata(),
    { deadline },
    (error, response) => {
      client.close();
      if (error) {
        // NOT_FOUND is the server's answer for a key it does not serve: reachable, not ready.
        const answered = error.code === grpc.status.NOT_FOUND;
        process.stderr.write(`${target} health ${key}: ${grpc.status[error.code] ?? error.code}: ${error.details || error.message}\n`);
        process.exitCode = answered ? 1 : 2;
        return;
      }
      const status = STATUS[response.status] ?? `status ${response.status}`;
      (response.status === 1 ? process.stdout : process.stderr).write(`${target} health ${key}: ${status}\n`);
      process.exitCode = response.status === 1 ? 0 : 1;
    },
  );
}

main();
