import * as path from 'node:path';
import { isBackboneName } from '@patchwork/backbones';
import { invalidArgument } from '@patchwork/errors';
import { resolveModelDir } from '@patchwork/finetune';
import type { Runtime } from '@patchwork/platform';

const backboneOf = (ref: string) => (ref.endsWith('-evolved') ? ref.slice(0, -'-evolved'.length) : ref);

/**
 * What a training config may name, as seen from the server: an artifact (`artifact:<digest>`),
 * a directory under the server's allowed model roots (an absolute path), or a Patchwork backbone
 * (built once into the data dir). A relative path is refused: it would be resolved against the
 * server's working directory, which clients neither know nor may reach.
 */
export function isModelReference(ref: string): boolean {
  return ref.startsWith('artifact:') || ref.startsWith('path:') || path.isAbsolute(ref) || isBackboneName(backboneOf(ref));
}

/** The resolver a train job hands to the library: the platform's policy for artifacts and paths, the backbone cache for names. */
export function trainModelResolver(runtime: Runtime, signal?: AbortSignal): (ref: string, field: string) => Promise<string> {
  return async (ref, field) => {
    if (ref.startsWith('artifact:') || ref.startsWith('path:')) return runtime.resolveModel(ref, field);
    if (path.isAbsolute(ref)) return runtime.resolveModel(`path:${ref}`, field);
    if (isBackboneName(backboneOf(ref))) return resolveModelDir(ref, field, runtime.config.dataDir, signal);
    throw invalidArgument(field, `${JSON.stringify(ref)} is not a model reference this server accepts: use artifact:<sha256>, an absolute path under the model roots, or a backbone name`);
  };
}
