import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { compareSamples, evaluate, loadTaskConfig } from '@patchwork/evaluate';
import { loadModel } from '@patchwork/models';
import { loadAdapter } from '@patchwork/peft';
import { initBackend } from '@patchwork/tensor';
import { loadTokenizer } from '@patchwork/tokenizers';
import { ProgressLine } from '../progress';

export interface EvalCommandOptions {
  model: string;
  adapter?: string;
  task: string;
  out: string;
  limit?: string;
  batchSize?: string;
  backend?: string;
}

function positive(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new PatchworkError('INVALID_ARGUMENT', `${flag}: must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * `patchwork eval`: one task on one model (and adapter) in this process. Writes lm-eval's results
 * JSON to --out and the per-sample log as samples_<task>.jsonl beside it.
 */
export async function evalCommand(options: EvalCommandOptions): Promise<void> {
  await initBackend({ backend: (options.backend ?? 'auto') as never });
  const task = await loadTaskConfig(options.task);
  const batchSize = positive(options.batchSize, '--batch-size', 32);
  const limit = options.limit === undefined ? undefined : positive(options.limit, '--limit', 1);
  const model = await loadModel(path.resolve(options.model));
  const progress = new ProgressLine();
  try {
    const adapter = options.adapter ? await loadAdapter(path.resolve(options.adapter), model) : undefined;
    const tokenizerFile = path.join(path.resolve(options.model), 'tokenizer.json');
    const tokenizer = await fs.access(tokenizerFile).then(() => loadTokenizer(tokenizerFile), () => undefined);
    const output = await evaluate({
      model,
      adapter,
      tokenizer,
      task,
      batchSize,
      limit,
      modelName: options.adapter ? `${options.model}+${options.adapter}` : options.model,
      onProgress: (p) => progress.update('eval', p.done / Math.max(1, p.total), `${p.done}/${p.total}`),
    });
    adapter?.dispose();
    const out = path.resolve(options.out);
    await fs.mkdir(path.dirname(out), { recursive: true });
    await fs.writeFile(out, `${JSON.stringify(output.results, null, 2)}\n`);
    const samples = path.join(path.dirname(out), `samples_${task.task}.jsonl`);
    await fs.writeFile(samples, output.samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
    const row = output.results.results[task.task] ?? {};
    const summary = Object.entries(row)
      .filter(([k, v]) => k.endsWith(',none') && !k.includes('_stderr') && typeof v === 'number')
      .map(([k, v]) => `${k.replace(',none', '')}=${(v as number).toFixed(4)}`)
      .join(' ');
    progress.done(`${task.task}: ${summary} -> ${out} (samples: ${samples})`);
  } finally {
    model.dispose();
  }
}

async function readSamples(file: string): Promise<Record<string, unknown>[]> {
  const text = await fs.readFile(path.resolve(file), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line, i) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new PatchworkError('INVALID_ARGUMENT', `${file}:${i + 1}: not a JSON line`);
      }
    });
}

/** `patchwork eval compare`: MUSCLE compatibility between two per-sample logs of one task. */
export async function evalCompareCommand(options: { old: string; new: string; out: string }): Promise<void> {
  const report = compareSamples((await readSamples(options.old)) as never, (await readSamples(options.new)) as never);
  await fs.writeFile(path.resolve(options.out), `${JSON.stringify(report, null, 2)}\n`);
  const rates =
    report.negative_flip_rate === undefined
      ? `score negative flip rate ${report.score_difference.negative_flip_rate.toFixed(4)}`
      : `negative flip rate ${report.negative_flip_rate.toFixed(4)}, positive flip rate ${report.positive_flip_rate?.toFixed(4)}`;
  process.stderr.write(`${rates} over ${report.n} samples -> ${path.resolve(options.out)}\n`);
}
