import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { mergeAdapterIntoModel } from '@patchwork/peft';
import { Checkpoint, encodeFloat32, isFloatDType, writeShardedCheckpoint } from '@patchwork/tensor';
import { carryModelFiles } from '../io/carry-files';
import { assertFreshOutput, staged } from '../io/staged-dir';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, readLoraAdapter } from '../lora/adapter-dir';
import { checkpointDigest } from './checkpoint-digest';

/**
 * - `adapter`: the adapter itself, retargeted at the new base (weights byte-identical; PEFT loads
 *   it onto θ′ and computes θ′ + ΔW at run time).
 * - `merged`: the full new model θ′ + ΔW written out.
 */
export type PortMode = 'adapter' | 'merged';

export interface PortPatchOptions {
  /** A PEFT adapter trained on `fromBaseDir` (exactly one of adapterDir, taskVectorModelDir). */
  adapterDir?: string;
  /** A model fine-tuned from `fromBaseDir` in full; its patch is the task vector θ_ft − θ. */
  taskVectorModelDir?: string;
  fromBaseDir: string;
  toBaseDir: string;
  outDir: string;
  /** Default `adapter` for an adapter; a task vector is always `merged`. */
  mode?: PortMode;
  /** Known content digests (artifact digests from lineage, say); computed from the files when absent. */
  fromBaseDigest?: string;
  toBaseDigest?: string;
  /** What the ported adapter's `base_model_name_or_path` names; default `toBaseDir`. */
  toBaseName?: string;
  maxShardBytes?: number;
}

export interface PortReport {
  mode: PortMode;
  patch: { kind: 'lora-adapter' | 'task-vector'; path: string; digest: string };
  fromBase: { path: string; digest: string };
  toBase: { path: string; digest: string };
  /** Base tensors the patch changes. */
  patchedTensors: number;
  files: string[];
}

/** The note written beside a ported patch, for lineage. */
export const PORT_NOTE = 'patchwork_port.json';
const RULE =
  "PortLLM (Khan et al., ICLR 2025): the patch made on the old base is applied unchanged to the new one, theta' + delta, with no retraining and no rescaling";

function fail(problem: string, violations: { field: string; description: string }[]): PatchworkError {
  return new PatchworkError('FAILED_PRECONDITION', problem, { violations });
}

async function modelType(dir: string): Promise<string | undefined> {
  try {
    const parsed = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as { model_type?: unknown };
    return typeof parsed.model_type === 'string' ? parsed.model_type : undefined;
  } catch {
    return undefined;
  }
}

/**
 * PortLLM needs the two bases to be the same architecture: same model_type, same tensors, same
 * shapes. Every difference is named in one FAILED_PRECONDITION.
 */
async function assertSameLayout(from: Checkpoint, to: Checkpoint, fromDir: string, toDir: string): Promise<void> {
  const [fromType, toType] = await Promise.all([modelType(fromDir), modelType(toDir)]);
  const problems: { field: string; description: string }[] = [];
  if (fromType !== undefined && toType !== undefined && fromType !== toType) problems.push({ field: 'config.model_type', description: `${fromType} on the old base, ${toType} on the new` });
  for (const name of from.names()) {
    if (!to.has(name)) problems.push({ field: name, description: 'missing from the new base' });
    else if (from.info(name).shape.join('x') !== to.info(name).shape.join('x')) {
      problems.push({ field: name, description: `shape [${from.info(name).shape}] on the old base, [${to.info(name).shape}] on the new` });
    }
  }
  for (const name of to.names()) if (!from.has(name)) problems.push({ field: name, description: 'missing from the old base' });
  if (problems.length > 0) {
    const listed = problems.slice(0, 8).map((p) => `${p.field} (${p.description})`).join(', ');
    throw fail(`cannot port: the bases differ in ${problems.length} place(s): ${listed}${problems.length > 8 ? ', ...' : ''}`, problems);
  }
}

/** The checkpoint key of a module's weight: `<module>.weight`, or a stored spelling without a leading prefix. */
function weightKeyOf(checkpoint: Checkpoint, module: string): string | undefined {
  const full = `${module}.weight`;
  if (checkpoint.has(full)) return full;
  const matches = checkpoint.names().filter((k) => full.endsWith(`.${k}`));
  return matches.length === 1 ? matches[0] : undefined;
}

async function writeNote(dir: string, report: Omit<PortReport, 'files'>): Promise<string> {
  const file = path.join(dir, PORT_NOTE);
  const note = {
    kind: 'portllm',
    rule: RULE,
    mode: report.mode,
    patch: report.patch,
    from_base: report.fromBase,
    to_base: report.toBase,
    patched_tensors: report.patchedTensors,
  };
  await fs.writeFile(file, `${JSON.stringify(note, null, 2)}\n`);
  return file;
}

const relocate = (files: string[], from: string, to: string) => files.map((f) => path.join(to, path.relative(from, f)));

/** θ′ + (θ_ft − θ) tensor by tensor, in the new base's dtypes; integer buffers come from the new base. */
async function portTaskVector(ft: Checkpoint, from: Checkpoint, to: Checkpoint, dir: string, maxShardBytes: number): Promise<{ files: string[]; patched: number }> {
  let patched = 0;
  const specs = to.names().map((name) => ({ name, dtype: to.info(name).dtype, shape: to.info(name).shape }));
  const { files } = await writeShardedCheckpoint(
    dir,
    specs,
    async (name, spec) => {
      if (!isFloatDType(spec.dtype)) return to.readRaw(name);
      const [target, tuned, old] = await Promise.all([to.readFloat32(name), ft.readFloat32(name), from.readFloat32(name)]);
      const out = new Float32Array(target.length);
      let changed = false;
      for (let j = 0; j < out.length; j++) {
        // The task vector is rounded to float32 first, as a stored task vector would be.
        const delta = Math.fround(tuned[j] - old[j]);
        if (delta !== 0) changed = true;
        out[j] = target[j] + delta;
      }
      if (changed) patched++;
      return encodeFloat32(out, spec.dtype);
    },
    { maxShardBytes },
  );
  return { files, patched };
}

/**
 * Ports a patch trained on base v1 onto base v2 without training, by PortLLM's rule: the new
 * model is θ′ + ΔW with ΔW exactly the patch (s·B·A for LoRA, θ_ft − θ for a full fine-tune).
 * Refused (FAILED_PRECONDITION, naming each tensor) when the bases differ in architecture,
 * tensors or shapes, or when an adapter targets a module the new base lacks. The output carries
 * `patchwork_port.json` with both bases' digests, so lineage can record the port.
 */
export async function portPatch(options: PortPatchOptions): Promise<PortReport> {
  const problems = new ViolationCollector();
  if ((options.adapterDir === undefined) === (options.taskVectorModelDir === undefined)) problems.add('adapterDir', 'give exactly one of adapterDir and taskVectorModelDir');
  for (const field of ['fromBaseDir', 'toBaseDir', 'outDir'] as const) if (!options[field]) problems.add(field, 'is required');
  const mode: PortMode = options.mode ?? (options.adapterDir !== undefined ? 'adapter' : 'merged');
  if (mode !== 'adapter' && mode !== 'merged') problems.add('mode', `must be adapter or merged, got ${JSON.stringify(mode)}`);
  if (options.taskVectorModelDir !== undefined && mode === 'adapter') problems.add('mode', 'a task vector has no adapter form; use merged');
  if (options.maxShardBytes !== undefined && !(Number.isSafeInteger(options.maxShardBytes) && options.maxShardBytes > 0)) problems.add('maxShardBytes', 'must be a positive integer');
  problems.throwIfAny();
  const outDir = path.resolve(options.outDir);
  await assertFreshOutput(outDir);
  const maxShardBytes = options.maxShardBytes ?? 5_000_000_000;

  const from = await Checkpoint.open(options.fromBaseDir);
  try {
    const to = await Checkpoint.open(options.toBaseDir);
    try {
      await assertSameLayout(from, to, options.fromBaseDir, options.toBaseDir);
      const [fromDigest, toDigest] = await Promise.all([
        options.fromBaseDigest ?? checkpointDigest(options.fromBaseDir),
        options.toBaseDigest ?? checkpointDigest(options.toBaseDir),
      ]);
      const fromBase = { path: options.fromBaseDir, digest: fromDigest };
      const toBase = { path: options.toBaseDir, digest: toDigest };

      if (options.adapterDir !== undefined) {
        const adapterDir = options.adapterDir;
        const adapter = await readLoraAdapter(adapterDir).catch((err: unknown) => {
          const e = PatchworkError.from(err);
          throw e.code === 'FAILED_PRECONDITION' ? fail(`cannot port ${adapterDir}: PortLLM ports plain LoRA patches (${e.message})`, e.violations ?? []) : e;
        });
        const missing = [...adapter.modules.keys()].filter((m) => weightKeyOf(to, m) === undefined);
        if (missing.length > 0) {
          throw fail(`cannot port: the new base has no weight for adapted module(s) ${missing.join(', ')}`, missing.map((m) => ({ field: m, description: 'no such weight in the new base' })));
        }
        const patch = { kind: 'lora-adapter' as const, path: adapterDir, digest: await checkpointDigest(adapterDir, [ADAPTER_CONFIG]) };
        const report = { mode, patch, fromBase, toBase, patchedTensors: adapter.modules.size };
        return await staged(outDir, async (dir) => {
          let files: string[];
          if (mode === 'adapter') {
            await fs.mkdir(dir, { recursive: true });
            await fs.copyFile(path.join(adapterDir, ADAPTER_WEIGHTS), path.join(dir, ADAPTER_WEIGHTS));
            const config = { ...adapter.config, base_model_name_or_path: options.toBaseName ?? options.toBaseDir, revision: null };
            await fs.writeFile(path.join(dir, ADAPTER_CONFIG), `${JSON.stringify(config, null, 2)}\n`);
            files = [path.join(dir, ADAPTER_WEIGHTS), path.join(dir, ADAPTER_CONFIG)];
          } else {
            files = (await mergeAdapterIntoModel({ modelDir: options.toBaseDir, adapterDir, outDir: dir, maxShardBytes })).files;
          }
          files.push(await writeNote(dir, report));
          return { ...report, files: relocate(files, dir, outDir) };
        });
      }

      const ftDir = options.taskVectorModelDir as string;
      const ft = await Checkpoint.open(ftDir);
      try {
        const mismatched = from.names().filter((n) => !ft.has(n) || ft.info(n).shape.join('x') !== from.info(n).shape.join('x'));
        const extra = ft.names().filter((n) => !from.has(n));
        if (mismatched.length + extra.length > 0) {
          throw fail(
            `cannot port: the fine-tuned model does not match its base: ${[...mismatched.map((n) => `${n} (missing or reshaped)`), ...extra.map((n) => `${n} (not in the base)`)].slice(0, 8).join(', ')}`,
            [...mismatched.map((n) => ({ field: n, description: 'missing or reshaped in the fine-tuned model' })), ...extra.map((n) => ({ field: n, description: 'not in the base' }))],
          );
        }
        const patch = { kind: 'task-vector' as const, path: ftDir, digest: await checkpointDigest(ftDir) };
        return await staged(outDir, async (dir) => {
          const { files, patched } = await portTaskVector(ft, from, to, dir, maxShardBytes);
          files.push(...(await carryModelFiles(options.toBaseDir, dir)));
          const report = { mode, patch, fromBase, toBase, patchedTensors: patched };
          files.push(await writeNote(dir, report));
          return { ...report, files: relocate(files, dir, outDir) };
        });
      } finally {
        await ft.close();
      }
    } finally {
      await to.close();
    }
  } catch (err) {
    throw err instanceof PatchworkError ? err : PatchworkError.from(err);
  } finally {
    await from.close();
  }
}

