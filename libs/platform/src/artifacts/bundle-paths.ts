import * as path from 'node:path';
import { invalidArgument } from '@patchwork/errors';

const SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * A bundle path is relative, '/'-separated, and made of plain segments: it can never name a file
 * outside the directory it is materialized into.
 */
export function validateBundlePath(p: string, field = 'path'): string {
  if (p.length === 0 || p.length > 512) throw invalidArgument(field, 'must be 1-512 characters');
  const segments = p.split('/');
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..' || !SEGMENT.test(segment)) {
      throw invalidArgument(field, `unsafe path ${JSON.stringify(p)}: use relative segments of letters, digits, '.', '_' and '-'`);
    }
  }
  return p;
}

/** Joins a validated bundle path under `root`, double-checking containment. */
export function resolveInside(root: string, p: string): string {
  const resolved = path.resolve(root, ...validateBundlePath(p).split('/'));
  const base = path.resolve(root) + path.sep;
  if (!resolved.startsWith(base)) throw invalidArgument('path', `${p} escapes its bundle`);
  return resolved;
}

const DIGEST = /^[0-9a-f]{64}$/;

export function validateDigest(digest: string, field = 'digest'): string {
  if (!DIGEST.test(digest)) throw invalidArgument(field, 'must be a lowercase hex sha256 (64 characters)');
  return digest;
}
