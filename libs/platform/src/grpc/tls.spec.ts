import { PatchworkError } from '@patchwork/errors';
import { callUnary } from './client';
import { unary } from './handlers';
import { checkHealth } from './health-client';
import type { EchoRequest } from './testing/echo';
import { startEcho, testCert } from './testing/harness';

jest.setTimeout(10_000);

const say = unary(async (request: EchoRequest) => ({ text: request.text, index: 0 }));
const impl = { say, count: say, collect: say };

/** The certificates name localhost; dialling it avoids an IP as the TLS server name. */
const localhost = (address: string) => `localhost:${address.split(':')[1]}`;

describe('TLS', () => {
  it('serves over TLS to a client trusting the test CA, and refuses plaintext and untrusted clients', async () => {
    const h = await startEcho(impl, { tls: { cert: testCert('server.crt'), key: testCert('server.key') } });
    try {
      const secure = h.client({ address: localhost(h.server.address), tls: { ca: testCert('ca.crt') } });
      expect(await callUnary(secure, 'say', { text: 'hello' })).toMatchObject({ text: 'hello' });
      expect(await checkHealth({ address: localhost(h.server.address), tls: { ca: testCert('ca.crt') } })).toBe('SERVING');

      await expect(callUnary(h.client(), 'say', { text: 'plain' }, { timeoutMs: 2000 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      // System roots do not include the test CA.
      await expect(callUnary(h.client({ address: localhost(h.server.address), tls: true }), 'say', { text: 'untrusted' }, { timeoutMs: 2000 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      await h.close();
    }
  });

  it('requires a client certificate signed by the CA for mTLS', async () => {
    const h = await startEcho(impl, {
      tls: { cert: testCert('server.crt'), key: testCert('server.key'), ca: testCert('ca.crt'), requireClientCert: true },
    });
    try {
      const withCert = h.client({ address: localhost(h.server.address), tls: { ca: testCert('ca.crt'), cert: testCert('client.crt'), key: testCert('client.key') } });
      expect(await callUnary(withCert, 'say', { text: 'mutual' })).toMatchObject({ text: 'mutual' });
      const withoutCert = h.client({ address: localhost(h.server.address), tls: { ca: testCert('ca.crt') } });
      const err = await callUnary(withoutCert, 'say', { text: 'anonymous' }, { timeoutMs: 2000 }).catch((e: PatchworkError) => e);
      expect(err).toBeInstanceOf(PatchworkError);
      expect(['UNAVAILABLE', 'INTERNAL']).toContain((err as PatchworkError).code);
    } finally {
      await h.close();
    }
  });

  it('rejects incomplete TLS settings up front', async () => {
    await expect(startEcho(impl, { tls: { cert: testCert('server.crt'), key: testCert('server.key'), requireClientCert: true } })).rejects.toThrow(
      /requireClientCert: needs tls.ca/,
    );
    await expect(startEcho(impl, { tls: { cert: Buffer.from('not pem'), key: testCert('server.key') } })).rejects.toThrow(/tls.cert/);
    const h = await startEcho(impl);
    try {
      expect(() => h.client({ tls: { cert: testCert('client.crt') } })).toThrow(/needs both cert and key/);
    } finally {
      await h.close();
    }
  });
});
