import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { readPlatformConfig, serve } from '@patchwork/platform';
import { initBackend } from '@patchwork/tensor';
import { connectLifecycle } from '../lifecycle/clients';
import type { LifecycleResult } from '../lifecycle/lifecycle-result';
import { runLifecycle } from '../lifecycle/run-lifecycle';
import { ProgressLine } from '../progress';
import { renderReport } from '../report';
import { SERVICE_MODULES } from '../service-modules';

export interface QuickstartOptions {
  out: string;
  /** Kept across runs: the embedded fabric's store and the backbone cache. */
  dataDir?: string;
  /** Optimizer steps of each adapter. */
  trainSteps?: string;
}

/** One progress bar per lifecycle step; a finished step leaves its last line behind. */
function stepProgress(): (step: string, fraction: number, detail: string) => void {
  let current = '';
  let bar = new ProgressLine();
  let lastDetail = '';
  return (step, fraction, detail) => {
    if (step !== current) {
      if (current) bar.done(`  ${current}: ${lastDetail}`);
      current = step;
      bar = new ProgressLine();
    }
    lastDetail = detail || lastDetail;
    bar.update(step, fraction, detail);
  };
}

function summary(result: LifecycleResult): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `backbone ${result.backbone.name}: ${result.backbone.parameters} parameters; compressed (gamma ${result.compress.gamma}) to ${result.compress.paramsAfter}`,
    ...result.training.map((t) => `adapter ${t.task} (${t.method}, ${t.trainableParameters} trainable): test accuracy ${pct(t.metrics.test_accuracy ?? Number.NaN)}`),
    ...result.merge.rows.map((r) => `merge ${r.method}: ${Object.entries(r.accuracy).map(([task, acc]) => `${task} ${pct(acc)}`).join(', ')}; normalized ${pct(r.normalizedAverage)}`),
    `gate on ${result.merge.method}: ${result.evaluation.gate.decision} (${result.evaluation.gate.reasons.join('; ')})`,
    `compatibility vs the backbone: negative flips ${pct(result.evaluation.compatibility.negativeFlipRate)}, positive flips ${pct(result.evaluation.compatibility.positiveFlipRate)}`,
    `retrieval: ${result.retrieval.routedCorrectly}/${result.retrieval.inputs} inputs routed to their task's adapter, ${result.retrieval.predictedCorrectly} predicted right`,
  ];
  return lines.map((l) => `  ${l}`).join('\n');
}

/**
 * The main job on the embedded default: boots all five services in this process (no NATS) and
 * drives the whole lifecycle through them over gRPC — build a backbone, compress it, train two
 * task adapters, merge them, evaluate with a promotion gate and a compatibility comparison,
 * route inputs to adapters and predict — then writes `lifecycle.json` and `report.html` with
 * its figures. The data dir keeps the backbone cache, so a second run skips pre-training.
 */
export async function quickstart(options: QuickstartOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const out = path.resolve(options.out);
  const trainSteps = options.trainSteps === undefined ? 80 : Number(options.trainSteps);
  if (!Number.isSafeInteger(trainSteps) || trainSteps <= 0) throw new PatchworkError('INVALID_ARGUMENT', `--train-steps: a positive integer, got ${JSON.stringify(options.trainSteps)}`);
  const dataDir = path.join(path.resolve(options.dataDir ?? env['PATCHWORK_DATA_DIR'] ?? path.join(os.homedir(), '.patchwork')), 'quickstart');
  await fs.mkdir(out, { recursive: true });
  const config = readPlatformConfig({ ...env, NATS_URL: '' }, { dataDir, grpcPort: '0', logLevel: 'error' });
  const backend = await initBackend({ backend: config.backend as never });
  const platform = await serve({ config, modules: config.services.map((s) => SERVICE_MODULES[s]) });
  process.stderr.write(`patchwork: embedded services (${config.services.join(', ')}) on 127.0.0.1:${platform.port}, ${backend.name} backend on ${backend.device}, data in ${dataDir}\n`);
  const clients = connectLifecycle(`127.0.0.1:${platform.port}`);
  try {
    const progress = stepProgress();
    const result = await runLifecycle(clients, {
      runId: `quickstart-${randomUUID().slice(0, 8)}`,
      workDir: path.join(out, 'work'),
      fabric: 'embedded',
      trainSteps,
      onProgress: progress,
    });
    progress('done', 1, '');
    await fs.writeFile(path.join(out, 'lifecycle.json'), `${JSON.stringify(result, null, 2)}\n`);
    await fs.rm(path.join(out, 'work'), { recursive: true, force: true });
    const report = await renderReport(result, out);
    process.stderr.write(`patchwork: the lifecycle finished in ${result.seconds.toFixed(0)} s\n${summary(result)}\n`);
    process.stderr.write(`patchwork: report ${report.html} (${report.figures.length} figures), data ${path.join(out, 'lifecycle.json')}\n`);
  } finally {
    clients.close();
    await platform.close();
  }
}
