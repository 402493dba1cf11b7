import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type CompressDistillOptions, type CompressReport, DISTILL_DEFAULTS, compressModel } from '@patchwork/compress';
import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { initBackend } from '@patchwork/tensor';
import { ProgressLine } from '../progress';

export const REPORT_FILE = 'compress_report.json';

export interface CompressCommandOptions {
  model: string;
  gamma: string;
  svd?: string;
  out: string;
  backend?: string;
  /** Intermediate pre-training: a corpus (moby-dick, sotu, spam-ham) or a task (digits, spam, ...). */
  distill?: string;
  steps?: string;
  batchSize?: string;
  lr?: string;
  alpha?: string;
  beta?: string;
  eps?: string;
  taskWeight?: string;
  checkpointDir?: string;
}

/** Parses the distillation flags; every bad one is reported at once (exit code 2). */
function distillOptions(o: CompressCommandOptions): CompressDistillOptions | undefined {
  const problems = new ViolationCollector();
  const tuning = { '--batch-size': o.batchSize, '--lr': o.lr, '--alpha': o.alpha, '--beta': o.beta, '--eps': o.eps, '--task-weight': o.taskWeight, '--checkpoint-dir': o.checkpointDir };
  if (o.distill === undefined) {
    if (o.steps !== undefined) problems.add('--steps', 'needs --distill DATASET');
    for (const [flag, value] of Object.entries(tuning)) if (value !== undefined) problems.add(flag, 'needs --distill DATASET');
    problems.throwIfAny();
    return undefined;
  }
  const integer = (flag: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) problems.add(flag, `must be a positive integer, got ${JSON.stringify(value)}`);
    return n;
  };
  const real = (flag: string, value: string | undefined, positive: boolean): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (positive && n === 0)) problems.add(flag, `must be a number ${positive ? '> 0' : '>= 0'}, got ${JSON.stringify(value)}`);
    return n;
  };
  if (o.steps === undefined) problems.add('--steps', 'is required with --distill');
  const steps = integer('--steps', o.steps) as number;
  const lr = real('--lr', o.lr, true);
  const options: CompressDistillOptions = {
    dataset: o.distill,
    steps,
    batchSize: integer('--batch-size', o.batchSize),
    optimizer: lr === undefined ? undefined : { ...DISTILL_DEFAULTS.optimizer, lr },
    alpha: real('--alpha', o.alpha, false),
    beta: real('--beta', o.beta, false),
    eps: real('--eps', o.eps, false),
    taskWeight: real('--task-weight', o.taskWeight, false),
    checkpoint: o.checkpointDir === undefined ? undefined : { dir: path.resolve(o.checkpointDir), every: Math.max(1, Math.ceil(steps / 20)) },
  };
  problems.throwIfAny();
  return options;
}

const fmt = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : x.toExponential(3));

/** The per-layer table: rank, error of the SVD factors (and the optimum), and after distillation. */
export function layerTable(report: CompressReport): string {
  const after = report.distill !== null;
  const head = `module\tin\tout\trank\trel_error\toptimal\tmax_abs${after ? '\trel_error_distilled\tmax_abs_distilled' : ''}`;
  const rows = report.layers.map((l) =>
    [l.module, l.inFeatures, l.outFeatures, l.rank, fmt(l.relError), fmt(l.optimalRelError), fmt(l.maxAbsError), ...(after ? [fmt(l.relErrorAfterDistill), fmt(l.maxAbsErrorAfterDistill)] : [])].join('\t'),
  );
  return [head, ...rows].join('\n');
}

/**
 * `patchwork compress`: PELA factorization of a Hugging Face model to about 1/gamma per layer,
 * optionally followed by intermediate pre-training against the dense model. Writes the low-rank
 * model and compress_report.json to --out, and the per-layer table to stdout.
 */
export async function compressCommand(options: CompressCommandOptions): Promise<void> {
  const gamma = Number(options.gamma);
  if (!(Number.isFinite(gamma) && gamma > 1)) throw new PatchworkError('INVALID_ARGUMENT', `--gamma: must be a number > 1, got ${JSON.stringify(options.gamma)}`);
  const svd = options.svd ?? 'exact';
  if (svd !== 'exact' && svd !== 'randomized') throw new PatchworkError('INVALID_ARGUMENT', `--svd: exact or randomized, got ${JSON.stringify(svd)}`);
  const distill = distillOptions(options);
  await initBackend({ backend: (options.backend ?? 'auto') as never });
  const progress = new ProgressLine();
  const outDir = path.resolve(options.out);
  const report = await compressModel({
    modelDir: path.resolve(options.model),
    outDir,
    gamma,
    svd,
    distill,
    onProgress: (p) => {
      if (p.phase === 'data') progress.update('data', 0, `preparing ${p.name}`);
      else if (p.phase === 'factorize') progress.update('factor', p.index / p.total, `${p.module} rank ${p.rank} err ${p.relError.toExponential(2)}`);
      else if (p.phase === 'distill') {
        const t = p.terms;
        const terms = [t.task === null ? '' : `task ${t.task.toPrecision(3)}`, t.featureDistill === null ? '' : `fd ${t.featureDistill.toPrecision(3)}`, t.weightPerturbation === null ? '' : `wp ${t.weightPerturbation.toPrecision(3)}`].filter((s) => s !== '');
        progress.update('distill', p.step / p.totalSteps, `step ${p.step}/${p.totalSteps} loss ${p.loss.toPrecision(4)} (${terms.join(', ')}) eta ${Math.round(p.etaSec)}s`);
      }
    },
  });
  await fs.writeFile(path.join(outDir, REPORT_FILE), `${JSON.stringify({ ...report, out_dir: undefined, files: undefined }, null, 2)}\n`);
  process.stdout.write(`${layerTable(report)}\n`);
  const d = report.distill;
  progress.done(
    `${report.model_type}: ${report.params_before} -> ${report.params_after} parameters (${(report.param_ratio * 100).toFixed(1)}%), ` +
      `FLOPs/token ${report.flops_per_token_before} -> ${report.flops_per_token_after}, ${report.layers.length} layers factored` +
      (d === null ? '' : `, distilled ${d.steps} steps on ${d.data?.name ?? 'data'} (loss ${d.first.total.toPrecision(4)} -> ${d.last.total.toPrecision(4)}${d.resumedFromStep === undefined ? '' : `, resumed from step ${d.resumedFromStep}`})`) +
      ` -> ${outDir} (${REPORT_FILE})`,
  );
}
