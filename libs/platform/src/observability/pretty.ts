import type { LogDestination } from './logger';

/** Keys printed in the line prefix, so they are not repeated among the trailing fields. */
const PREFIX_KEYS = new Set(['time', 'level', 'service', 'msg', 'pid', 'hostname']);

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/**
 * Renders one pino JSON line as `HH:MM:SS.mmm LEVEL service: message key=value ...`, with an error's
 * stack on the following lines. Lines that are not JSON pass through untouched.
 */
export function formatPrettyLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const time = typeof record.time === 'string' ? record.time.slice(11, 23) : '';
  const level = String(record.level ?? '').toUpperCase().padEnd(5);
  const service = record.service === undefined ? '' : `${String(record.service)}: `;
  const msg = record.msg === undefined ? '' : String(record.msg);
  const fields: string[] = [];
  let stack = '';
  for (const [key, value] of Object.entries(record)) {
    if (PREFIX_KEYS.has(key)) continue;
    if ((key === 'err' || key === 'error') && value && typeof value === 'object') {
      const { stack: errStack, ...rest } = value as Record<string, unknown>;
      if (typeof errStack === 'string') stack = `\n    ${errStack.split('\n').join('\n    ')}`;
      fields.push(`${key}=${formatValue(rest)}`);
      continue;
    }
    fields.push(`${key}=${formatValue(value)}`);
  }
  const tail = fields.length > 0 ? ` ${fields.join(' ')}` : '';
  return `${time} ${level} ${service}${msg}${tail}${stack}\n`;
}

export function prettyDestination(sink: LogDestination): LogDestination {
  return { write: (chunk: string) => sink.write(formatPrettyLine(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk)) };
}
