import { PatchworkError } from '@patchwork/errors';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { RECIPE_VERSION, type Recipe, isBackboneName } from '../recipes/recipes';
import type { BackboneMetrics } from './context';

/** Provenance written beside the Hugging Face files. Deterministic: no timestamps or timings. */
export const MANIFEST_FILE = 'patchwork_backbone.json';

export interface BackboneManifest {
  readonly name: string;
  readonly evolved: boolean;
  readonly recipeVersion: number;
  readonly recipeHash: string;
  readonly seed: number;
  readonly steps: number;
  /** The tfjs backend that trained it (bytes are reproducible on the same backend). */
  readonly backend: string;
  readonly recipe: Recipe;
  /** Evolved builds: the base backbone they continued from. */
  readonly base?: { readonly recipeHash: string };
  readonly metrics: BackboneMetrics;
}

/** Short digest of everything that determines a build's bytes on a given backend. */
export function recipeHash(parts: { name: string; evolved: boolean; recipe: Recipe; seed: number; steps?: number; baseHash?: string }): string {
  const canonical = JSON.stringify({ version: RECIPE_VERSION, name: parts.name, evolved: parts.evolved, seed: parts.seed, steps: parts.steps ?? null, base: parts.baseHash ?? null, recipe: parts.recipe });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** Reads `dir`'s manifest; a missing or malformed one is FAILED_PRECONDITION (not a Patchwork backbone). */
export async function readManifest(dir: string): Promise<BackboneManifest> {
  const path = nodePath.join(dir, MANIFEST_FILE);
  let parsed: Partial<BackboneManifest>;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<BackboneManifest>;
  } catch (e) {
    throw new PatchworkError('FAILED_PRECONDITION', `${dir} is not a backbone built by Patchwork: cannot read ${MANIFEST_FILE} (${(e as Error).message})`, { cause: e });
  }
  if (!isBackboneName(parsed?.name) || typeof parsed.evolved !== 'boolean' || typeof parsed.recipeHash !== 'string' || typeof parsed.metrics !== 'object') {
    throw new PatchworkError('FAILED_PRECONDITION', `${path} is not a valid backbone manifest`);
  }
  return parsed as BackboneManifest;
}
