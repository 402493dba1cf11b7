import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { DType, SafetensorsFile, encodeFloat32, isFloatDType, writeSafetensors } from '@patchwork/tensor';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../lora/adapter-dir';

/**
 * MOS adapter merging (Sun et al., AAAI 2025; research/merge.md section 4): the current task's
 * adapter is pulled toward the mean of the adapters stored for earlier tasks,
 *
 *   θ ← (1 − β)·θ + β·(Σ_{k<t} θ_k)/t,   β = `adapter_momentum` (0.1 in the paper's code).
 *
 * The reference code applies this in place, repeatedly (twice per training step, and again every
 * time a stored adapter is chosen at inference, which drifts it). Here it is a pure function
 * applied once to a copy; with no earlier adapters (task 0) the adapter is returned unchanged.
 */
export const MOS_DEFAULT_MOMENTUM = 0.1;

function assertMomentum(momentum: number): void {
  if (!(Number.isFinite(momentum) && momentum >= 0 && momentum <= 1)) throw invalidArgument('momentum', `must be within [0, 1], got ${momentum}`);
}

/** The merge on in-memory tensors keyed by name; every earlier adapter must hold the same names and sizes. */
export function mosMomentumMerge(
  current: ReadonlyMap<string, Float32Array>,
  previous: readonly ReadonlyMap<string, Float32Array>[],
  momentum: number = MOS_DEFAULT_MOMENTUM,
): Map<string, Float32Array> {
  assertMomentum(momentum);
  const out = new Map<string, Float32Array>();
  for (const [name, theta] of current) {
    if (previous.length === 0) {
      out.set(name, theta.slice());
      continue;
    }
    const mean = new Float64Array(theta.length);
    previous.forEach((adapter, k) => {
      const stored = adapter.get(name);
      if (!stored) throw new PatchworkError('FAILED_PRECONDITION', `earlier adapter ${k} has no tensor ${name}`);
      if (stored.length !== theta.length) throw new PatchworkError('FAILED_PRECONDITION', `earlier adapter ${k}: ${name} has ${stored.length} elements, the current adapter ${theta.length}`);
      for (let j = 0; j < mean.length; j++) mean[j] += stored[j];
    });
    const merged = new Float32Array(theta.length);
    const t = previous.length;
    for (let j = 0; j < merged.length; j++) merged[j] = (1 - momentum) * theta[j] + momentum * (mean[j] / t);
    out.set(name, merged);
  }
  return out;
}

export interface MosMergeOptions {
  /** The current task's adapter directory (PEFT layout). */
  current: string;
  /** Adapters saved at the end of earlier tasks, oldest first. */
  previous: string[];
  momentum?: number;
  outDir: string;
}

async function readTensors(dir: string): Promise<{ file: SafetensorsFile; floats: Map<string, Float32Array> }> {
  let file: SafetensorsFile;
  try {
    file = await SafetensorsFile.open(path.join(dir, ADAPTER_WEIGHTS));
  } catch (err) {
    throw new PatchworkError('NOT_FOUND', `adapter ${dir}: cannot open ${ADAPTER_WEIGHTS} (${(err as Error).message})`);
  }
  const floats = new Map<string, Float32Array>();
  for (const t of file.tensors) if (isFloatDType(t.dtype)) floats.set(t.name, await file.readFloat32(t.name));
  return { file, floats };
}

/**
 * The merge on adapter directories: writes the merged copy of `current` (same tensor names, dtypes
 * and config) to `outDir`. Non-float tensors are copied unchanged; shapes must agree.
 */
export async function mergeMosAdapter(options: MosMergeOptions): Promise<{ files: string[]; tensors: number; previous: number }> {
  const momentum = options.momentum ?? MOS_DEFAULT_MOMENTUM;
  assertMomentum(momentum);
  if (typeof options.outDir !== 'string' || options.outDir === '') throw invalidArgument('outDir', 'required');
  const current = await readTensors(options.current);
  try {
    const previous: Map<string, Float32Array>[] = [];
    for (const dir of options.previous) {
      const { file, floats } = await readTensors(dir);
      try {
        for (const t of current.file.tensors) {
          if (!isFloatDType(t.dtype)) continue;
          if (!floats.has(t.name)) throw new PatchworkError('FAILED_PRECONDITION', `earlier adapter ${dir} has no tensor ${t.name}`);
          const shape = file.info(t.name).shape;
          if (shape.join('x') !== t.shape.join('x')) throw new PatchworkError('FAILED_PRECONDITION', `earlier adapter ${dir}: ${t.name} is [${shape}], the current adapter's [${t.shape}]`);
        }
      } finally {
        await file.close();
      }
      previous.push(floats);
    }
    const merged = mosMomentumMerge(current.floats, previous, momentum);
    const tensors: Record<string, { dtype: DType; shape: number[]; data: Uint8Array }> = {};
    for (const t of current.file.tensors) {
      const values = merged.get(t.name);
      tensors[t.name] = { dtype: t.dtype, shape: [...t.shape], data: values ? encodeFloat32(values, t.dtype) : await current.file.readRaw(t.name) };
    }
    await fs.mkdir(options.outDir, { recursive: true });
    const weights = path.join(options.outDir, ADAPTER_WEIGHTS);
    await writeSafetensors(weights, tensors, current.file.metadata);
    const files = [weights];
    try {
      const config = path.join(options.outDir, ADAPTER_CONFIG);
      await fs.copyFile(path.join(options.current, ADAPTER_CONFIG), config);
      files.push(config);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return { files, tensors: merged.size, previous: previous.length };
  } finally {
    await current.file.close();
  }
}
