import { invalidArgument } from '@patchwork/errors';

/**
 * Name rules shared by both fabrics, so that a name the embedded fabric accepts also works on
 * NATS (where queue names become subject tokens and consumer names, and buckets become streams).
 */

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const BUCKET_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const PREFIX = /^[A-Za-z0-9_-]{0,32}$/;
const KV_KEY = /^[-/_=.a-zA-Z0-9]+$/;
const SUBJECT_TOKEN = /^[^\s.*>]+$/;
const HEADER_NAME = /^[!-9;-~]+$/; // printable ASCII without ':' (RFC 7230 field-name superset)
const DIGEST = /^[0-9a-f]{64}$/;

/** Header name prefixes owned by the broker or the fabric's dead-letter records. */
export const RESERVED_HEADER_PREFIXES = ['nats-', 'patchwork-dlq-'] as const;

export function assertQueueName(queue: string): void {
  if (typeof queue !== 'string' || !QUEUE_NAME.test(queue)) {
    throw invalidArgument('queue', `must be 1-64 characters of [A-Za-z0-9_-], got ${JSON.stringify(queue)}`);
  }
}

export function assertBucketName(name: string): void {
  if (typeof name !== 'string' || !BUCKET_NAME.test(name)) {
    throw invalidArgument('bucket', `must be 1-64 characters of [A-Za-z0-9_-], got ${JSON.stringify(name)}`);
  }
}

export function assertPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw invalidArgument('prefix', `must be 0-32 characters of [A-Za-z0-9_-], got ${JSON.stringify(prefix)}`);
  }
}

export function assertKvKey(key: string): void {
  if (typeof key !== 'string' || !KV_KEY.test(key) || key.startsWith('.') || key.endsWith('.') || key.includes('..')) {
    throw invalidArgument('key', `must match [-/_=.a-zA-Z0-9]+ with no empty dot-separated token, got ${JSON.stringify(key)}`);
  }
}

export function assertDigest(digest: string): void {
  if (typeof digest !== 'string' || !DIGEST.test(digest)) {
    throw invalidArgument('digest', `must be a lowercase hex sha256 (64 characters), got ${JSON.stringify(digest)}`);
  }
}

/** A concrete subject: non-empty dot-separated tokens without whitespace or wildcards. */
export function assertSubject(subject: string, field = 'subject'): void {
  if (typeof subject !== 'string' || subject.length === 0 || !subject.split('.').every((t) => SUBJECT_TOKEN.test(t))) {
    throw invalidArgument(field, `must be dot-separated tokens without whitespace or wildcards, got ${JSON.stringify(subject)}`);
  }
}

/** A subject pattern: like a subject, but a token may be `*`, and the last token may be `>`. */
export function assertPattern(pattern: string, field = 'pattern'): void {
  const tokens = typeof pattern === 'string' && pattern.length > 0 ? pattern.split('.') : [];
  const ok =
    tokens.length > 0 &&
    tokens.every((t, i) => t === '*' || (t === '>' && i === tokens.length - 1) || SUBJECT_TOKEN.test(t));
  if (!ok) {
    throw invalidArgument(field, `must be dot-separated tokens, '*' or a final '>', got ${JSON.stringify(pattern)}`);
  }
}

/** NATS subject matching: `*` matches exactly one token, a final `>` one or more. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

export function assertHeaders(headers: Record<string, string> | undefined, field = 'headers'): void {
  if (headers === undefined) return;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw invalidArgument(field, 'must be an object of string values');
  }
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) throw invalidArgument(`${field}.${name}`, 'header names are printable ASCII without ":" or spaces');
    const lower = name.toLowerCase();
    if (RESERVED_HEADER_PREFIXES.some((p) => lower.startsWith(p))) {
      throw invalidArgument(`${field}.${name}`, `header names starting with ${RESERVED_HEADER_PREFIXES.join(' or ')} are reserved`);
    }
    if (typeof value !== 'string' || /[\r\n]/.test(value)) {
      throw invalidArgument(`${field}.${name}`, 'header values are strings without line breaks');
    }
  }
}

export function isReservedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED_HEADER_PREFIXES.some((p) => lower.startsWith(p));
}
