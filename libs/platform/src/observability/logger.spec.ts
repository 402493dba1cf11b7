import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { REDACTED, createLogger, type LogDestination } from './logger';
import { formatPrettyLine } from './pretty';

function capture(): LogDestination & { lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (line: string) => lines.push(line) };
}

describe('createLogger', () => {
  it('writes one JSON line per record with level name, service and ISO time', () => {
    const out = capture();
    const logger = createLogger({ service: 'merge', destination: out });
    logger.info({ jobId: 'j1' }, 'job started');
    expect(out.lines).toHaveLength(1);
    const record = JSON.parse(out.lines[0]);
    expect(record).toMatchObject({ level: 'info', service: 'merge', jobId: 'j1', msg: 'job started' });
    expect(new Date(record.time).toISOString()).toBe(record.time);
  });

  it('filters below the configured level', () => {
    const out = capture();
    const logger = createLogger({ service: 's', level: 'warn', destination: out });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(out.lines.map((l) => JSON.parse(l).msg)).toEqual(['w', 'e']);
  });

  it('redacts credentials at the top level and nested one or two levels deep', () => {
    const out = capture();
    const logger = createLogger({ service: 's', destination: out, redact: ['config.natsUrl'] });
    logger.info(
      {
        authorization: 'Bearer top-secret',
        metadata: { authorization: 'Bearer nested-secret', 'user-agent': 'grpc-node' },
        request: { auth: { token: 'deep-secret' } },
        config: { natsUrl: 'nats://user:pw@host' },
      },
      'call',
    );
    const line = out.lines[0];
    for (const secret of ['top-secret', 'nested-secret', 'deep-secret', 'user:pw']) expect(line).not.toContain(secret);
    const record = JSON.parse(line);
    expect(record.authorization).toBe(REDACTED);
    expect(record.metadata).toEqual({ authorization: REDACTED, 'user-agent': 'grpc-node' });
    expect(record.request.auth.token).toBe(REDACTED);
  });

  it('child loggers add bindings', () => {
    const out = capture();
    createLogger({ service: 's', destination: out }).child({ jobId: 'j9' }).child({ step: 2 }).warn('slow');
    expect(JSON.parse(out.lines[0])).toMatchObject({ service: 's', jobId: 'j9', step: 2, level: 'warn' });
  });

  it('serializes PatchworkErrors with code and violations', () => {
    const out = capture();
    createLogger({ service: 's', destination: out }).error({ err: invalidArgument('rank', 'must be positive') }, 'bad');
    const { err } = JSON.parse(out.lines[0]);
    expect(err).toMatchObject({ type: 'PatchworkError', code: 'INVALID_ARGUMENT', violations: [{ field: 'rank', description: 'must be positive' }] });
    expect(err.stack).toContain('PatchworkError');
  });

  it('rejects bad options with a named field', () => {
    expect(() => createLogger({ service: '' })).toThrow(/logger service/);
    expect(() => createLogger({ service: 's', level: 'loud' as never })).toThrow(PatchworkError);
  });

  it('pretty mode prints readable lines with the error stack', () => {
    const out = capture();
    const logger = createLogger({ service: 'merge', destination: out, pretty: true });
    logger.error({ err: new Error('boom'), jobId: 'j 1' }, 'failed');
    const [line] = out.lines;
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} ERROR merge: failed /);
    expect(line).toContain('jobId="j 1"');
    expect(line).toContain('\n    Error: boom');
    expect(line.endsWith('\n')).toBe(true);
  });
});

describe('formatPrettyLine', () => {
  it('passes non-JSON through', () => {
    expect(formatPrettyLine('plain text')).toBe('plain text\n');
  });
});
