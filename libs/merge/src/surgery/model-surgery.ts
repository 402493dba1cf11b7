import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError, ViolationCollector, invalidArgument } from '@patchwork/errors';
import { LinearSpec, loadModel } from '@patchwork/models';
import { Checkpoint, encodeFloat32, writeShardedCheckpoint } from '@patchwork/tensor';
import { carryModelFiles } from '../io/carry-files';
import { assertFreshOutput, staged } from '../io/staged-dir';
import { selectRows, unitScores } from './row-scores';

export interface SurgeryOptions {
  modelDir: string;
  /**
   * The behaviour direction v over the hidden size: the probe's row for the undesired class,
   * unnormalised, as the paper adds it (a trained probe from libs/evaluate, for instance).
   */
  probe: Float32Array;
  /** Linear modules to edit, matched against module names (`mlp\.c_fc$`, `gate_proj`). */
  modules: RegExp | string;
  /** Rows to edit over all matched modules together (exactly one of k and fraction). */
  k?: number;
  /** Fraction of all candidate rows to edit, rounded to the nearest count. */
  fraction?: number;
  /** Each selected row moves by alpha·v; alpha < 0 pushes toward the behaviour instead. */
  alpha: number;
  outDir: string;
  /** The model's linear layout; read from the model directory when absent. */
  linears?: ReadonlyMap<string, LinearSpec>;
  maxShardBytes?: number;
}

export interface SurgeryReport {
  /** Per edited module, the output units (rows of W in torch's [out, in] view) that moved, ascending. */
  changedRows: Record<string, number[]>;
  selected: number;
  /** Rows considered over all matched modules. */
  candidates: number;
  /** Scores −cos(w_i, v) of the selected rows, highest and lowest. */
  scores: { highest: number; lowest: number };
  files: string[];
}

/** The note written beside an edited model, for lineage. */
export const SURGERY_NOTE = 'patchwork_surgery.json';

/** The checkpoint key holding a linear's weight: its own key, or a stored spelling without a leading prefix. */
function storedKey(checkpoint: Checkpoint, weightKey: string): string | undefined {
  if (checkpoint.has(weightKey)) return weightKey;
  const matches = checkpoint.names().filter((k) => weightKey.endsWith(`.${k}`));
  return matches.length === 1 ? matches[0] : undefined;
}

async function layoutOf(options: SurgeryOptions): Promise<ReadonlyMap<string, LinearSpec>> {
  if (options.linears) return options.linears;
  const model = await loadModel(options.modelDir);
  try {
    return new Map(model.linears);
  } finally {
    model.dispose();
  }
}

interface Target {
  spec: LinearSpec;
  key: string;
}

function checkOptions(options: SurgeryOptions): RegExp {
  const problems = new ViolationCollector();
  if (!options.modelDir) problems.add('modelDir', 'is required');
  if (!options.outDir) problems.add('outDir', 'is required');
  if (!(options.probe instanceof Float32Array) || options.probe.length === 0) problems.add('probe', 'must be a non-empty Float32Array');
  else if (!options.probe.every(Number.isFinite)) problems.add('probe', 'must hold finite values');
  else if (!options.probe.some((x) => x !== 0)) problems.add('probe', 'is all zeros; it has no direction');
  if (!Number.isFinite(options.alpha)) problems.add('alpha', 'must be a finite number');
  if ((options.k === undefined) === (options.fraction === undefined)) problems.add('k', 'give exactly one of k and fraction');
  if (options.k !== undefined && !(Number.isSafeInteger(options.k) && options.k >= 1)) problems.add('k', `must be a positive integer, got ${options.k}`);
  if (options.fraction !== undefined && !(options.fraction > 0 && options.fraction <= 1)) problems.add('fraction', `must be within (0, 1], got ${options.fraction}`);
  let pattern: RegExp | undefined;
  try {
    pattern = typeof options.modules === 'string' ? new RegExp(options.modules) : options.modules;
  } catch (err) {
    problems.add('modules', `is not a valid pattern: ${(err as Error).message}`);
  }
  problems.throwIfAny();
  return pattern as RegExp;
}

/**
 * Model Surgery (Wang et al., NAACL 2025), as the authors' code does it: score every row of the
 * chosen matrices by −cos(w_i, v) against the behaviour probe v, take the K highest over all
 * matched modules together (the rows most anti-aligned with the probe), and move each by α·v.
 * A "row" is an output unit's weight vector over the hidden size: a row of an `out_in` weight, a
 * column of GPT-2's `in_out` Conv1D. Everything else is copied byte for byte. Memory: one matched
 * matrix at a time while scoring, one tensor at a time while writing.
 */
export async function surgery(options: SurgeryOptions): Promise<SurgeryReport> {
  const pattern = checkOptions(options);
  const outDir = path.resolve(options.outDir);
  await assertFreshOutput(outDir);
  const linears = await layoutOf(options);
  const checkpoint = await Checkpoint.open(options.modelDir);
  try {
    const problems = new ViolationCollector();
    const targets: Target[] = [];
    for (const spec of linears.values()) {
      if (!pattern.test(spec.module)) continue;
      const field = `modules.${spec.module}`;
      if (spec.tied) problems.add(field, `shares its weight with ${spec.weightKey}; editing it would edit the embeddings too`);
      else if (spec.inFeatures !== options.probe.length) problems.add(field, `rows have ${spec.inFeatures} inputs but the probe has ${options.probe.length} values`);
      else {
        const key = storedKey(checkpoint, spec.weightKey);
        if (key === undefined) problems.add(field, `weight ${spec.weightKey} is not in the checkpoint`);
        else {
          const shape = checkpoint.info(key).shape;
          const expected = spec.layout === 'in_out' ? [spec.inFeatures, spec.outFeatures] : [spec.outFeatures, spec.inFeatures];
          if (shape.join('x') !== expected.join('x')) problems.add(field, `weight has shape [${shape}], expected [${expected}] for its ${spec.layout} layout`);
          else targets.push({ spec, key });
        }
      }
    }
    if (targets.length === 0 && problems.size === 0) problems.add('modules', `${pattern} matches none of the model's linear modules (${[...linears.keys()].slice(0, 6).join(', ')}${linears.size > 6 ? ', ...' : ''})`);
    problems.throwIfAny();

    const scores: Float64Array[] = [];
    for (const { spec, key } of targets) scores.push(unitScores(await checkpoint.readFloat32(key), spec, options.probe));
    const candidates = scores.reduce((s, x) => s + x.length, 0);
    const count = options.k ?? Math.round((options.fraction as number) * candidates);
    if (count < 1 || count > candidates) throw invalidArgument(options.k !== undefined ? 'k' : 'fraction', `selects ${count} of the ${candidates} candidate rows; it must select between 1 and all of them`);
    const selection = selectRows(scores, count);

    const edits = new Map(targets.map(({ key }, i) => [key, { target: targets[i], rows: selection.rows[i] }]));
    const changedRows = Object.fromEntries(targets.map(({ spec }, i) => [spec.module, Array.from(selection.rows[i])]).filter(([, rows]) => (rows as number[]).length > 0));
    const alpha = options.alpha;
    const probe = options.probe;
    return await staged(outDir, async (dir) => {
      const specs = checkpoint.names().map((name) => ({ name, dtype: checkpoint.info(name).dtype, shape: checkpoint.info(name).shape }));
      const { files } = await writeShardedCheckpoint(
        dir,
        specs,
        async (name, spec) => {
          const edit = edits.get(name);
          if (!edit || edit.rows.length === 0) return checkpoint.readRaw(name);
          const weights = await checkpoint.readFloat32(name);
          const { inFeatures, outFeatures, layout } = edit.target.spec;
          for (const unit of edit.rows) {
            for (let d = 0; d < inFeatures; d++) {
              const at = layout === 'in_out' ? d * outFeatures + unit : unit * inFeatures + d;
              weights[at] += alpha * probe[d];
            }
          }
          return encodeFloat32(weights, spec.dtype);
        },
        { maxShardBytes: options.maxShardBytes ?? 5_000_000_000 },
      );
      files.push(...(await carryModelFiles(options.modelDir, dir)));
      const note = path.join(dir, SURGERY_NOTE);
      const probeNorm = Math.sqrt(probe.reduce((s, x) => s + x * x, 0));
      await fs.writeFile(
        note,
        `${JSON.stringify({ kind: 'model-surgery', modules: String(pattern), selected: count, candidates, alpha, probe_norm: probeNorm, scores: selection.scores, changed_rows: Object.fromEntries(Object.entries(changedRows).map(([m, r]) => [m, (r as number[]).length])) }, null, 2)}\n`,
      );
      files.push(note);
      return { changedRows: changedRows as Record<string, number[]>, selected: count, candidates, scores: selection.scores, files: files.map((f) => path.join(outDir, path.relative(dir, f))) };
    });
  } catch (err) {
    throw err instanceof PatchworkError ? err : PatchworkError.from(err);
  } finally {
    await checkpoint.close();
  }
}
