import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { BACKBONE_NAMES, buildBackbone, cachedBackbone, isBackboneName } from '@patchwork/backbones';
import { PatchworkError } from '@patchwork/errors';
import { initBackend } from '@patchwork/tensor';
import { ProgressLine } from '../progress';

export interface BackboneBuildOptions {
  name: string;
  evolved?: boolean;
  out: string;
  seed?: string;
  /** Build once under <dataDir>/backbones and copy from there (tests and the demo reuse it). */
  dataDir?: string;
  backend?: string;
}

async function copyDir(from: string, to: string): Promise<void> {
  await fs.mkdir(to, { recursive: true });
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    if (entry.isFile()) await fs.copyFile(path.join(from, entry.name), path.join(to, entry.name));
  }
}

/** `patchwork backbone build`: a tiny pretrained backbone from real data, Hugging Face layout. */
export async function backboneBuild(options: BackboneBuildOptions): Promise<void> {
  if (!isBackboneName(options.name)) throw new PatchworkError('INVALID_ARGUMENT', `--name: one of ${BACKBONE_NAMES.join(', ')}, got ${JSON.stringify(options.name)}`);
  const seed = options.seed === undefined ? undefined : Number(options.seed);
  if (seed !== undefined && !Number.isSafeInteger(seed)) throw new PatchworkError('INVALID_ARGUMENT', `--seed: an integer, got ${JSON.stringify(options.seed)}`);
  await initBackend({ backend: (options.backend ?? 'wasm') as never });
  const progress = new ProgressLine();
  const onProgress = (p: { phase: string; message: string; train?: { step: number; totalSteps: number; loss: number } }) =>
    p.train ? progress.update(p.phase, p.train.step / p.train.totalSteps, `step ${p.train.step}/${p.train.totalSteps} loss ${p.train.loss.toFixed(3)}`) : progress.update(p.phase, 0, p.message);
  const out = path.resolve(options.out);
  const built = options.dataDir
    ? await cachedBackbone(options.name, { evolved: options.evolved, dataDir: path.resolve(options.dataDir), seed, onProgress })
    : await buildBackbone({ name: options.name, evolved: options.evolved, outDir: out, seed, onProgress });
  if (options.dataDir) await copyDir(built.dir, out);
  const m = built.metrics as Record<string, unknown>;
  const summary = Object.entries(m)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k}=${(v as number).toFixed(3)}`)
    .join(' ');
  progress.done(`${options.name}${options.evolved ? ' (evolved)' : ''}: ${summary} in ${built.seconds.toFixed(0)} s -> ${out}`);
}
