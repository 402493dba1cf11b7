import { PatchworkError } from '@patchwork/errors';
import * as nodePath from 'node:path';
import { type BackboneName, type Recipe, isBackboneName, recipeFor } from '../recipes/recipes';
import { type BuiltBackbone, DEFAULT_SEED, buildBackbone } from './build-backbone';
import type { BuildProgress } from './context';
import { readManifest, recipeHash } from './manifest';

export interface CachedBackboneOptions {
  readonly evolved?: boolean;
  /** The data directory; backbones live under `<dataDir>/backbones/`. */
  readonly dataDir: string;
  readonly seed?: number;
  /** A non-default recipe or step count (tests, smoke runs); both are part of the cache key. */
  readonly recipe?: Recipe;
  readonly steps?: number;
  readonly onProgress?: (p: BuildProgress) => void;
  readonly signal?: AbortSignal;
}

export interface CachedBackbone extends BuiltBackbone {
  /** False when this call built it. */
  readonly cached: boolean;
}

const inFlight = new Map<string, Promise<CachedBackbone>>();

async function existing(dir: string, hash: string): Promise<CachedBackbone | undefined> {
  try {
    const manifest = await readManifest(dir);
    if (manifest.recipeHash !== hash) {
      throw new PatchworkError('DATA_LOSS', `cached backbone ${dir} has recipe hash ${manifest.recipeHash}, expected ${hash}; delete the directory to rebuild it`);
    }
    return { dir, metrics: manifest.metrics, seconds: 0, recipeHash: hash, cached: true };
  } catch (e) {
    const err = PatchworkError.from(e);
    if (err.code === 'FAILED_PRECONDITION' && /cannot read/.test(err.message)) return undefined;
    throw err;
  }
}

/**
 * The backbone `name` (or its evolved variant) with its default recipe, built once and then
 * reused: it lives in `<dataDir>/backbones/<name>[-evolved]-<recipe hash>/`. Builds are atomic
 * (staging directory + rename), so a crashed build leaves nothing half-written behind, and two
 * callers racing to build the same backbone both end up with the same complete directory. The
 * evolved variant continues from the cached base, which is built first if needed.
 */
export async function cachedBackbone(name: BackboneName, options: CachedBackboneOptions): Promise<CachedBackbone> {
  if (!isBackboneName(name)) recipeFor(name);
  if (typeof options?.dataDir !== 'string' || options.dataDir === '') throw new PatchworkError('INVALID_ARGUMENT', 'dataDir: must be a directory path');
  const evolved = options.evolved === true;
  const seed = options.seed ?? DEFAULT_SEED;
  const recipe = options.recipe ?? recipeFor(name);
  const root = nodePath.resolve(options.dataDir, 'backbones');
  const base = evolved ? await cachedBackbone(name, { ...options, evolved: false }) : undefined;
  const hash = recipeHash({ name, evolved, recipe, seed, steps: options.steps, baseHash: base?.recipeHash });
  const dir = nodePath.join(root, `${name}${evolved ? '-evolved' : ''}-${hash}`);
  const running = inFlight.get(dir);
  if (running !== undefined) return running;
  const work = (async (): Promise<CachedBackbone> => {
    const found = await existing(dir, hash);
    if (found !== undefined) return found;
    try {
      const built = await buildBackbone({ name, evolved, outDir: dir, seed, steps: options.steps, recipe: options.recipe, baseDir: base?.dir, onProgress: options.onProgress, signal: options.signal });
      return { ...built, cached: false };
    } catch (e) {
      // Another process may have published the same backbone while this one was building.
      if (PatchworkError.from(e).code === 'ALREADY_EXISTS') {
        const raced = await existing(dir, hash);
        if (raced !== undefined) return raced;
      }
      throw e;
    }
  })();
  inFlight.set(dir, work);
  try {
    return await work;
  } finally {
    inFlight.delete(dir);
  }
}
