import * as grpc from '@grpc/grpc-js';
import { PatchworkError } from '@patchwork/errors';

/** PEM-encoded server identity; with `ca` and `requireClientCert`, clients must present a cert it signed (mTLS). */
export interface ServerTlsOptions {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  requireClientCert?: boolean;
}

/** PEM material for a client; `ca` defaults to the system roots, `cert` + `key` enable mTLS. */
export interface ClientTlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Name to verify the server certificate against when it differs from the dialled host. */
  serverNameOverride?: string;
}

function isPem(value: unknown): value is Buffer {
  return Buffer.isBuffer(value) && value.includes('-----BEGIN ');
}

export function serverCredentials(tls: ServerTlsOptions | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  if (!isPem(tls.cert)) throw new PatchworkError('INVALID_ARGUMENT', 'tls.cert: must be a PEM certificate chain in a Buffer');
  if (!isPem(tls.key)) throw new PatchworkError('INVALID_ARGUMENT', 'tls.key: must be a PEM private key in a Buffer');
  if (tls.ca !== undefined && !isPem(tls.ca)) throw new PatchworkError('INVALID_ARGUMENT', 'tls.ca: must be PEM CA certificates in a Buffer');
  if (tls.requireClientCert && !tls.ca) {
    throw new PatchworkError('INVALID_ARGUMENT', 'tls.requireClientCert: needs tls.ca to verify client certificates against');
  }
  return grpc.ServerCredentials.createSsl(tls.ca ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], tls.requireClientCert ?? false);
}

export function channelCredentials(tls: ClientTlsOptions | boolean | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  const options: ClientTlsOptions = tls === true ? {} : tls;
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new PatchworkError('INVALID_ARGUMENT', 'tls: a client certificate needs both cert and key');
  }
  for (const field of ['ca', 'cert', 'key'] as const) {
    if (options[field] !== undefined && !isPem(options[field])) throw new PatchworkError('INVALID_ARGUMENT', `tls.${field}: must be PEM in a Buffer`);
  }
  return grpc.credentials.createSsl(options.ca ?? null, options.key ?? null, options.cert ?? null);
}
