import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import { registerWasmMatMulFastPath } from '@patchwork/training';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { type BackboneName, BACKBONE_NAMES, RECIPE_VERSION, type Recipe, isBackboneName, recipeFor } from '../recipes/recipes';
import { buildTextBackbone } from '../text/build-text';
import { buildVitBackbone } from '../vision/build-vit';
import type { BackboneMetrics, BuildContext, BuildProgress } from './context';
import { type BackboneManifest, MANIFEST_FILE, readManifest, recipeHash } from './manifest';
import { writeJsonFiles } from '../io/hf-writer';

export const DEFAULT_SEED = 42;

export interface BuildBackboneOptions {
  readonly name: BackboneName;
  /** The continued-pre-training variant (text backbones only). */
  readonly evolved?: boolean;
  /** Where the Hugging Face directory goes; must not exist yet (or be empty). */
  readonly outDir: string;
  /** Seeds initialisation, data order and masking. Default 42. */
  readonly seed?: number;
  /** Overrides the recipe's optimizer steps (short smoke builds; changes the recipe hash). */
  readonly steps?: number;
  /** Replaces the default recipe of `name` (same family); it is recorded and hashed like any other. */
  readonly recipe?: Recipe;
  /** Evolved builds: the base backbone to continue from. Built first, in a temporary directory, when absent. */
  readonly baseDir?: string;
  /** Trainer checkpoints, so a killed build resumes where it stopped. */
  readonly checkpointDir?: string;
  readonly onProgress?: (p: BuildProgress) => void;
  readonly signal?: AbortSignal;
}

export interface BuiltBackbone {
  readonly dir: string;
  readonly metrics: BackboneMetrics;
  /** Wall time of this build (0 when it came from a cache). */
  readonly seconds: number;
  readonly recipeHash: string;
}

function validate(o: BuildBackboneOptions): void {
  const problems = new ViolationCollector();
  if (!isBackboneName(o?.name)) problems.add('name', `must be one of ${BACKBONE_NAMES.join(', ')}, got ${JSON.stringify(o?.name)}`);
  else if (o.evolved === true && o.name === 'vit-digits') problems.add('evolved', 'vit-digits has no evolved variant (only the text backbones do)');
  if (typeof o?.outDir !== 'string' || o.outDir === '') problems.add('outDir', 'must be a directory path');
  if (o?.seed !== undefined && (!Number.isInteger(o.seed) || o.seed < 0 || o.seed >= 2 ** 32)) problems.add('seed', `must be an integer in [0, 2^32), got ${o.seed}`);
  if (o?.steps !== undefined && (!Number.isInteger(o.steps) || o.steps < 1)) problems.add('steps', `must be a positive integer, got ${o.steps}`);
  if (o?.baseDir !== undefined && o.evolved !== true) problems.add('baseDir', 'is only for evolved builds');
  if (o?.recipe !== undefined && isBackboneName(o.name) && o.recipe.family !== recipeFor(o.name).family) {
    problems.add('recipe.family', `must be ${recipeFor(o.name).family} for ${o.name}, got ${JSON.stringify(o.recipe.family)}`);
  }
  problems.throwIfAny();
}

async function assertFreshTarget(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return;
    if ((e as { code?: unknown }).code === 'ENOTDIR') throw new PatchworkError('ALREADY_EXISTS', `outDir ${dir} exists and is not a directory`);
    throw PatchworkError.from(e);
  }
  if (entries.length > 0) throw new PatchworkError('ALREADY_EXISTS', `outDir ${dir} already exists and is not empty`);
}

/** A fresh sibling of `dir` to build into, renamed over `dir` when complete. */
function stagingDir(dir: string): string {
  return nodePath.join(nodePath.dirname(dir), `.${nodePath.basename(dir)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Renames `from` to `to`; an empty directory at `to` (allowed by the caller) is replaced. */
async function publish(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    if ((await readdir(to)).length > 0) throw new PatchworkError('ALREADY_EXISTS', `outDir ${to} was filled by someone else during the build`);
    await rm(to, { recursive: true });
    await rename(from, to);
  }
}

/**
 * Builds one of the tiny pre-trained backbones (see the README for the recipes and measured
 * quality) into `outDir` in the Hugging Face layout: `config.json`, `model.safetensors`, the
 * tokenizer files (text) or `preprocessor_config.json` (ViT), and `patchwork_backbone.json`
 * (recipe, hash, metrics). Atomic: everything is written to a staging directory that is renamed
 * into place at the end, so `outDir` is complete or absent. The same seed gives the same bytes
 * on the same tfjs backend; call `initBackend` first (wasm is the fast CPU path; on wasm this
 * registers the training library's transposed-matmul fast path for the whole process).
 */
export async function buildBackbone(options: BuildBackboneOptions): Promise<BuiltBackbone> {
  validate(options);
  const started = performance.now();
  const name = options.name;
  const evolved = options.evolved === true;
  const seed = options.seed ?? DEFAULT_SEED;
  const recipe = options.recipe ?? recipeFor(name);
  const outDir = nodePath.resolve(options.outDir);
  await assertFreshTarget(outDir);
  await mkdir(nodePath.dirname(outDir), { recursive: true });
  // Without it, wasm runs every transposed product (most of a backward pass) 10-80x slower.
  if (tf.getBackend() === 'wasm') registerWasmMatMulFastPath();
  const ctx: BuildContext = { seed, steps: options.steps, onProgress: options.onProgress, signal: options.signal, checkpointDir: options.checkpointDir };

  const staging = stagingDir(outDir);
  const temporaryBase = evolved && options.baseDir === undefined ? `${staging}-base` : undefined;
  try {
    let baseDir = options.baseDir === undefined ? undefined : nodePath.resolve(options.baseDir);
    if (temporaryBase !== undefined) {
      await buildBackbone({ name, outDir: temporaryBase, seed, steps: options.steps, recipe: options.recipe, onProgress: options.onProgress, signal: options.signal });
      baseDir = temporaryBase;
    }
    let baseHash: string | undefined;
    if (baseDir !== undefined) {
      const base = await readManifest(baseDir);
      if (base.name !== name || base.evolved) {
        throw new PatchworkError('FAILED_PRECONDITION', `baseDir ${baseDir} holds ${base.name}${base.evolved ? ' (evolved)' : ''}, not the base ${name}`);
      }
      baseHash = base.recipeHash;
    }
    await mkdir(staging);
    const { metrics } =
      recipe.family === 'vit' ? await buildVitBackbone(recipe, staging, ctx) : await buildTextBackbone(recipe, evolved, staging, ctx, baseDir);
    const hash = recipeHash({ name, evolved, recipe, seed, steps: options.steps, baseHash });
    const manifest: BackboneManifest = {
      name,
      evolved,
      recipeVersion: RECIPE_VERSION,
      recipeHash: hash,
      seed,
      steps: metrics.steps ?? 0,
      backend: tf.getBackend(),
      recipe,
      ...(baseHash === undefined ? {} : { base: { recipeHash: baseHash } }),
      metrics,
    };
    await writeJsonFiles(staging, { [MANIFEST_FILE]: manifest });
    await publish(staging, outDir);
    return { dir: outDir, metrics, seconds: (performance.now() - started) / 1000, recipeHash: hash };
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw PatchworkError.from(e);
  } finally {
    if (temporaryBase !== undefined) await rm(temporaryBase, { recursive: true, force: true });
  }
}
