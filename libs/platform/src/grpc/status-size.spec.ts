import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { callUnary } from './client';
import { MAX_STATUS_MESSAGE_CHARS, toServiceError, truncateText } from './errors';
import { unary } from './handlers';
import { STATUS_DETAILS_KEY, decodeStatusDetails } from './status-details';
import { startEcho } from './testing/harness';

jest.setTimeout(10_000);

describe('status size bounds', () => {
  it('cuts long messages, fields and descriptions, and caps the number of violations', () => {
    const huge = 'x'.repeat(100_000);
    const violations = Array.from({ length: 500 }, (_, i) => ({ field: `f${i}.${huge}`, description: huge }));
    const status = toServiceError(new PatchworkError('INVALID_ARGUMENT', `no job ${huge}`, { violations }));
    expect(status.details.length).toBeLessThan(MAX_STATUS_MESSAGE_CHARS + 64);
    expect(status.details).toMatch(/^no job x+… \(\d+ more characters\)$/);
    const details = decodeStatusDetails(status.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer);
    expect(details.violations).toHaveLength(20);
    expect(details.violations[0].field.startsWith('f0.')).toBe(true);
    expect(status.metadata.get(STATUS_DETAILS_KEY)[0].length).toBeLessThan(16 * 1024);
  });

  it('leaves short errors untouched and never splits a surrogate pair', () => {
    const err = invalidArgument('rank', 'must be positive');
    expect(toServiceError(err).details).toBe('rank: must be positive');
    const cut = truncateText('🙂'.repeat(10), 5);
    expect(cut.startsWith('🙂🙂')).toBe(true);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])/.test(cut)).toBe(false);
  });

  it('keeps the connection usable when an error quotes a huge request', async () => {
    const say = unary(async (request: { text: string }) => {
      if (request.text.length > 10) throw invalidArgument('text', `unknown name ${request.text}`);
      return { text: request.text, index: 0 };
    });
    const h = await startEcho({ say, count: say, collect: say });
    try {
      const client = h.client();
      await expect(callUnary(client, 'say', { text: 'q'.repeat(1_000_000) }, { timeoutMs: 3000 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(callUnary(client, 'say', { text: 'ok' }, { timeoutMs: 3000 })).resolves.toMatchObject({ text: 'ok' });
    } finally {
      await h.close();
    }
  });
});
