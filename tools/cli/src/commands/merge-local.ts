import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { executeMerge, parseMergeYaml, planMerge } from '@patchwork/merge';
import { ProgressLine } from '../progress';

export interface MergeCommandOptions {
  config: string;
  out: string;
  maxShardBytes?: number;
  /** Peak memory budget of the merge (inputs are read in row chunks when a tensor does not fit). */
  maxMemoryBytes?: number;
}

/** Reads a mergekit-style YAML recipe; relative model paths are taken from the file's directory. */
export async function readMergeConfigFile(file: string) {
  const text = await fs.readFile(file, 'utf8');
  return parseMergeYaml(text, path.dirname(path.resolve(file)));
}

/** Runs a merge in this process, straight from local checkpoints to `out`. */
export async function mergeLocal(options: MergeCommandOptions): Promise<void> {
  const config = await readMergeConfigFile(options.config);
  const plan = await planMerge(config, async (ref) => ref);
  const progress = new ProgressLine();
  const started = Date.now();
  for (const warning of plan.warnings) process.stderr.write(`patchwork: warning: ${warning}\n`);
  try {
    const summary = await executeMerge(plan, {
      outDir: path.resolve(options.out),
      maxShardBytes: options.maxShardBytes,
      maxMemoryBytes: options.maxMemoryBytes,
      onProgress: (p) => progress.update(p.phase === 'statistics' ? `stats ${p.walk ?? 1}` : 'merge', p.done / p.total, `${p.done}/${p.total} ${p.tensor}`),
    });
    const seconds = (Date.now() - started) / 1000;
    const memory = summary.maxMemoryBytes ? `, peak RSS ${(summary.peakRssBytes / 2 ** 20).toFixed(0)} MiB (budget ${(summary.maxMemoryBytes / 2 ** 20).toFixed(0)} MiB over a ${(summary.baselineRssBytes / 2 ** 20).toFixed(0)} MiB runtime)` : '';
    progress.done(`merged ${summary.tensors} tensors (${(summary.bytesRead / 1e6).toFixed(1)} MB read) in ${seconds.toFixed(1)} s${memory} -> ${path.resolve(options.out)}`);
  } finally {
    await plan.close();
  }
}
