import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { ModelSource } from '@patchwork/contracts';
import { ArtifactRegistry, validateDigest } from '../artifacts';

/**
 * A model reference as a string, so method libraries can carry it without knowing the contract:
 * `artifact:<sha256>` or `path:<absolute dir>`.
 */
export function modelSourceToRef(source: ModelSource | undefined, field: string): string {
  const value = source?.source;
  if (!value) throw invalidArgument(field, 'required (artifact_digest or path)');
  if (value.$case === 'artifactDigest') return `artifact:${validateDigest(value.value, `${field}.artifact_digest`)}`;
  if (!value.value || !path.isAbsolute(value.value)) throw invalidArgument(`${field}.path`, 'must be an absolute directory path on the service\'s shared volume');
  return `path:${path.normalize(value.value)}`;
}

export interface ModelSourceResolverOptions {
  artifacts: ArtifactRegistry;
  /** Directories under which path references are allowed; none = path references refused. */
  pathRoots: string[];
}

/** Resolves a model reference to a local directory: artifacts are materialized into the cache. */
export function createModelResolver(options: ModelSourceResolverOptions): (ref: string, field: string) => Promise<string> {
  // Both sides are compared as real paths: a root reached through a symlink (a mounted volume)
  // still contains the directories under it.
  let realRoots: Promise<string[]> | undefined;
  const roots = () =>
    (realRoots ??= Promise.all(options.pathRoots.map((root) => fs.realpath(root).catch(() => path.resolve(root)))));
  return async (ref, field) => {
    if (ref.startsWith('artifact:')) return options.artifacts.materialize(ref.slice('artifact:'.length));
    if (!ref.startsWith('path:')) throw invalidArgument(field, `unknown model reference ${JSON.stringify(ref)}`);
    const dir = path.resolve(ref.slice('path:'.length));
    if (options.pathRoots.length === 0) {
      throw new PatchworkError('FAILED_PRECONDITION', `${field}: path model sources are disabled on this server (set PATCHWORK_MODEL_PATH_ROOTS); upload the model as an artifact instead`);
    }
    let real: string;
    try {
      real = await fs.realpath(dir);
    } catch {
      throw new PatchworkError('NOT_FOUND', `${field}: ${dir} does not exist on the server`);
    }
    const allowed = (await roots()).some((root) => real === root || real.startsWith(root + path.sep));
    if (!allowed) throw new PatchworkError('PERMISSION_DENIED', `${field}: ${dir} is outside the allowed model roots`);
    return real;
  };
}

/** The artifact digests among references, for lineage. */
export function artifactParents(refs: (string | undefined)[]): string[] {
  return [...new Set(refs.filter((r): r is string => !!r && r.startsWith('artifact:')).map((r) => r.slice('artifact:'.length)))];
}
