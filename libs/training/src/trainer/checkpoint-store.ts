import { PatchworkError } from '@patchwork/errors';
import { SafetensorsFile, type TensorData, tf, writeSafetensors } from '@patchwork/tensor';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import * as nodePath from 'node:path';

/** Files of one checkpoint folder. */
export const CHECKPOINT_FILES = {
  params: 'params.safetensors',
  optimizer: 'optimizer.safetensors',
  extra: 'extra.safetensors',
  state: 'trainer_state.json',
} as const;

const FOLDER = /^checkpoint-(\d+)$/;
const TEMP_PREFIX = '.checkpoint-';

/** Tensors of one checkpoint file, read back as owned tensors. */
export type TensorMap = Map<string, tf.Tensor>;

export interface CheckpointContents {
  readonly params: ReadonlyMap<string, tf.Tensor>;
  readonly optimizer: ReadonlyMap<string, tf.Tensor>;
  readonly extra?: ReadonlyMap<string, tf.Tensor>;
  /** JSON-serialisable trainer state; written last, so its presence marks a complete folder. */
  readonly state: unknown;
}

async function tensorRecord(tensors: ReadonlyMap<string, tf.Tensor>): Promise<Record<string, TensorData>> {
  const out: Record<string, TensorData> = {};
  for (const [name, t] of tensors) {
    if (t.dtype !== 'float32') throw new PatchworkError('INTERNAL', `checkpoint tensor ${name} is ${t.dtype}; only float32 is checkpointed`);
    out[name] = { dtype: 'F32', shape: [...t.shape], data: (await t.data()) as Float32Array };
  }
  return out;
}

async function writeDurable(path: string, text: string): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Step numbers of the complete checkpoints under `root`, ascending. */
export async function listCheckpoints(root: string): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return [];
    throw PatchworkError.from(e);
  }
  const steps: number[] = [];
  for (const name of entries) {
    const m = FOLDER.exec(name);
    if (m !== null && (await exists(nodePath.join(root, name, CHECKPOINT_FILES.state)))) steps.push(Number(m[1]));
  }
  return steps.sort((a, b) => a - b);
}

export function checkpointPath(root: string, step: number): string {
  return nodePath.join(root, `checkpoint-${step}`);
}

/** Removes half-written folders a killed run may have left (they were never renamed into place). */
export async function removeStaleTemporaries(root: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return;
  }
  for (const name of entries) if (name.startsWith(TEMP_PREFIX) && name.endsWith('.tmp')) await rm(nodePath.join(root, name), { recursive: true, force: true });
}

/** Deletes every checkpoint folder under `root` (a run that starts over). */
export async function removeCheckpoints(root: string): Promise<void> {
  for (const step of await listCheckpoints(root)) await rm(checkpointPath(root, step), { recursive: true, force: true });
  await removeStaleTemporaries(root);
}

/**
 * Writes `checkpoint-<step>/` atomically: everything goes to a temporary folder beside it, the
 * state file last (fsynced), and one rename publishes the folder, so a reader sees either a
 * complete checkpoint or none. Then only the newest `keep` checkpoints are kept.
 */
export async function writeCheckpoint(root: string, step: number, contents: CheckpointContents, keep: number): Promise<string> {
  await mkdir(root, { recursive: true });
  const temp = nodePath.join(root, `${TEMP_PREFIX}${step}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const final = checkpointPath(root, step);
  await mkdir(temp);
  try {
    await writeSafetensors(nodePath.join(temp, CHECKPOINT_FILES.params), await tensorRecord(contents.params));
    await writeSafetensors(nodePath.join(temp, CHECKPOINT_FILES.optimizer), await tensorRecord(contents.optimizer));
    if (contents.extra !== undefined) await writeSafetensors(nodePath.join(temp, CHECKPOINT_FILES.extra), await tensorRecord(contents.extra));
    await writeDurable(nodePath.join(temp, CHECKPOINT_FILES.state), `${JSON.stringify(contents.state)}\n`);
    if (await exists(final)) {
      const old = `${temp}.old`;
      await rename(final, old);
      await rename(temp, final);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(temp, final);
    }
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    const err = PatchworkError.from(e);
    throw new PatchworkError(err.code, `cannot write checkpoint ${final}: ${err.message}`, { cause: e });
  }
  const steps = await listCheckpoints(root);
  for (const old of steps.slice(0, Math.max(0, steps.length - keep))) await rm(checkpointPath(root, old), { recursive: true, force: true });
  return final;
}

async function readTensors(path: string): Promise<TensorMap> {
  const file = await SafetensorsFile.open(path);
  const out: TensorMap = new Map();
  try {
    for (const name of file.names()) out.set(name, await file.readTensor(name));
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  } finally {
    await file.close();
  }
  return out;
}

export interface LoadedCheckpoint {
  readonly path: string;
  readonly params: TensorMap;
  readonly optimizer: TensorMap;
  readonly extra?: TensorMap;
  readonly state: unknown;
}

/** Reads a checkpoint folder; unreadable or corrupt content is DATA_LOSS naming the file. */
export async function readCheckpoint(path: string): Promise<LoadedCheckpoint> {
  const owned: TensorMap[] = [];
  const read = async (file: string): Promise<TensorMap> => {
    const full = nodePath.join(path, file);
    try {
      const tensors = await readTensors(full);
      owned.push(tensors);
      return tensors;
    } catch (e) {
      throw new PatchworkError('DATA_LOSS', `checkpoint file ${full} is unreadable: ${PatchworkError.from(e).message}`, { cause: e });
    }
  };
  try {
    const statePath = nodePath.join(path, CHECKPOINT_FILES.state);
    let state: unknown;
    try {
      state = JSON.parse(await readFile(statePath, 'utf8'));
    } catch (e) {
      throw new PatchworkError('DATA_LOSS', `checkpoint state ${statePath} is unreadable: ${(e as Error).message}`, { cause: e });
    }
    const params = await read(CHECKPOINT_FILES.params);
    const optimizer = await read(CHECKPOINT_FILES.optimizer);
    const extra = (await exists(nodePath.join(path, CHECKPOINT_FILES.extra))) ? await read(CHECKPOINT_FILES.extra) : undefined;
    return { path, params, optimizer, extra, state };
  } catch (e) {
    for (const m of owned) for (const t of m.values()) t.dispose();
    throw e;
  }
}
