import { cachedBackbone, isBackboneName } from '@patchwork/backbones';
import { PatchworkError } from '@patchwork/errors';
import { stat } from 'node:fs/promises';
import * as nodePath from 'node:path';

/**
 * A model directory from a reference: an existing directory, or the name of a Patchwork backbone
 * (built once and cached under `<dataDir>/backbones`). Anything else is INVALID_ARGUMENT naming `field`.
 */
export async function resolveModelDir(ref: string, field: string, dataDir: string | undefined, signal?: AbortSignal): Promise<string> {
  const isDir = await stat(ref).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isDir) return nodePath.resolve(ref);
  const evolved = ref.endsWith('-evolved');
  const name = evolved ? ref.slice(0, -'-evolved'.length) : ref;
  if (isBackboneName(name)) {
    if (dataDir === undefined) throw new PatchworkError('INVALID_ARGUMENT', `${field}: the backbone ${ref} needs dataDir, where backbones are built and cached`);
    return (await cachedBackbone(name, { dataDir, evolved, signal })).dir;
  }
  throw new PatchworkError('INVALID_ARGUMENT', `${field}: ${JSON.stringify(ref)} is neither a model directory nor a backbone name (gpt2-tiny, bert-tiny, vit-digits, or one of the text ones with -evolved)`, {
    violations: [{ field, description: 'is not a model directory or backbone name' }],
  });
}
