// PortLLM on the evolved backbone: a LoRA task patch trained on gpt2-tiny (v1) is ported onto
// gpt2-tiny --evolved (v2) with portPatch, and compared on the task's test split with v2 without
// a patch and with the same patch retrained on v2. Prints the markdown table of the README.
// Run from the repository root (backbones are built on first use and cached under --data-dir):
//   npx tsx libs/merge/scripts/measure-portllm.ts [--data-dir DIR] [--out DIR] [--steps 150] [--lr 6e-3] [--seed 42] [--max-length 64]
import { cachedBackbone } from '@patchwork/backbones';
import { type TextTaskSplits, loadTask } from '@patchwork/datasets';
import { type TrainFromConfigResult, trainFromConfig } from '@patchwork/finetune';
import { initBackend, shutdownBackends } from '@patchwork/tensor';
import { mkdtemp } from 'node:fs/promises';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { parseArgs } from 'node:util';
import { portPatch, readLoraAdapter } from '../src';
import { promptClassifier, spamLoraRecipe } from './spam-prompt-patch';

const MiB = 1024 * 1024;

interface Row {
  model: string;
  accuracy: number;
  n: number;
  steps: number;
  examples: number;
  seconds: number;
  peakMiB?: number;
}

/** ‖ΔW_v2 − ΔW_v1‖ / ‖ΔW_v1‖ and cos(ΔW_v1, ΔW_v2) over all adapted modules, ΔW = B·A (the scaling is shared). */
async function patchResidual(v1Adapter: string, v2Adapter: string): Promise<{ relative: number; cosine: number; norm1: number; norm2: number }> {
  const [a1, a2] = await Promise.all([readLoraAdapter(v1Adapter), readLoraAdapter(v2Adapter)]);
  let dot = 0;
  let n1 = 0;
  let n2 = 0;
  for (const [name, m1] of a1.modules) {
    const m2 = a2.modules.get(name);
    if (m2 === undefined) throw new Error(`${v2Adapter} lacks module ${name}`);
    const dense = (m: typeof m1) => {
      const { rows: out, cols: r } = m.b;
      const inF = m.a.cols;
      const w = new Float64Array(out * inF);
      for (let i = 0; i < out; i++) for (let k = 0; k < r; k++) {
        const b = m.b.values[i * r + k];
        for (let j = 0; j < inF; j++) w[i * inF + j] += b * m.a.values[k * inF + j];
      }
      return w;
    };
    const w1 = dense(m1);
    const w2 = dense(m2);
    for (let i = 0; i < w1.length; i++) {
      dot += w1[i] * w2[i];
      n1 += w1[i] * w1[i];
      n2 += w2[i] * w2[i];
    }
  }
  const diff = Math.sqrt(Math.max(0, n1 + n2 - 2 * dot));
  return { relative: diff / Math.sqrt(n1), cosine: dot / Math.sqrt(n1 * n2), norm1: Math.sqrt(n1), norm2: Math.sqrt(n2) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string', default: nodePath.join(os.tmpdir(), 'patchwork-merge-data') },
      out: { type: 'string' },
      steps: { type: 'string', default: '150' },
      seed: { type: 'string', default: '42' },
      'max-length': { type: 'string', default: '64' },
      lr: { type: 'string', default: '6e-3' },
    },
  });
  const dataDir = values['data-dir'] as string;
  const steps = Number(values.steps);
  const seed = Number(values.seed);
  const maxLength = Number(values['max-length']);
  const lr = Number(values.lr);
  const info = await initBackend({ backend: 'wasm' });
  const outRoot = values.out ?? (await mkdtemp(nodePath.join(os.tmpdir(), 'portllm-')));
  console.log(`backend ${info.name} (${info.threads} thread(s)); ${new Date().toISOString()}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; data ${dataDir}; out ${outRoot}`);

  const t0 = performance.now();
  const v1 = await cachedBackbone('gpt2-tiny', { dataDir });
  const v2 = await cachedBackbone('gpt2-tiny', { dataDir, evolved: true });
  console.log(`backbones ready in ${((performance.now() - t0) / 1000).toFixed(0)} s (${v1.cached && v2.cached ? 'cached' : 'built now'}): ${v1.dir}, ${v2.dir}`);

  // The patch is read through GPT-2's LM head (a prompt whose next token is a label word), so
  // "v2 without a patch" is v2 zero-shot on the same prompt: the task needs no new head.
  const recipe = spamLoraRecipe({ steps, lr, seed, maxLength });
  const train = async (label: string, baseDir: string): Promise<TrainFromConfigResult> => {
    const r = await trainFromConfig(recipe, { baseModelDir: baseDir, outDir: nodePath.join(outRoot, label) });
    console.log(`  ${label}: runner test accuracy ${(100 * r.metrics.test_accuracy).toFixed(1)}%`);
    return r;
  };
  const trainedV1 = await train('patch-v1', v1.dir);
  const portStart = performance.now();
  const port = await portPatch({ adapterDir: trainedV1.adapterDir, fromBaseDir: v1.dir, toBaseDir: v2.dir, outDir: nodePath.join(outRoot, 'patch-ported') });
  const portSeconds = (performance.now() - portStart) / 1000;
  console.log(`  ported ${port.patchedTensors} module(s) in ${portSeconds.toFixed(2)} s -> ${nodePath.join(outRoot, 'patch-ported')}`);
  const retrained = await train('patch-v2-retrained', v2.dir);

  // Every row is scored by the same code: the runner's prompt encoding and head, on the whole
  // test split. The runner's own test accuracy of the two trained patches must come out equal.
  const task = loadTask('spam') as TextTaskSplits;
  const score = async (baseDir: string, adapterDir?: string): Promise<number> => {
    const classifier = await promptClassifier(baseDir, adapterDir, maxLength);
    try {
      return classifier.scoreTestSplit().accuracy;
    } finally {
      classifier.dispose();
    }
  };
  const n = task.test.labels.length;
  const training = (r: TrainFromConfigResult) => ({
    steps: r.phases.reduce((s, p) => s + p.steps, 0),
    examples: r.phases.reduce((s, p) => s + p.examplesSeen, 0),
    seconds: r.phases.reduce((s, p) => s + p.trainSeconds, 0),
    peakMiB: r.peakMemoryBytes / MiB,
  });
  const rows: Row[] = [
    { model: 'v1 without patch (zero-shot prompt)', accuracy: await score(v1.dir), n, steps: 0, examples: 0, seconds: 0 },
    { model: 'v2 without patch (zero-shot prompt)', accuracy: await score(v2.dir), n, steps: 0, examples: 0, seconds: 0 },
    { model: 'v1 + patch (trained on v1)', accuracy: await score(v1.dir, trainedV1.adapterDir), n, ...training(trainedV1) },
    { model: 'v2 + ported patch (PortLLM, no training)', accuracy: await score(v2.dir, nodePath.join(outRoot, 'patch-ported')), n, steps: 0, examples: 0, seconds: portSeconds },
    { model: 'v2 + patch retrained on v2', accuracy: await score(v2.dir, retrained.adapterDir), n, ...training(retrained) },
  ];
  for (const [row, r] of [
    [rows[2], trainedV1],
    [rows[4], retrained],
  ] as const) {
    if (Math.abs(row.accuracy - r.metrics.test_accuracy) > 1e-12) throw new Error(`${row.model}: scored ${row.accuracy}, the runner reported ${r.metrics.test_accuracy}`);
  }
  const majority = Math.max(...task.labelNames.map((_, k) => task.test.labels.filter((y) => y === k).length)) / n;
  const residual = await patchResidual(trainedV1.adapterDir, retrained.adapterDir);

  const pct = (x: number) => (100 * x).toFixed(1);
  const se = (p: number) => (100 * Math.sqrt((p * (1 - p)) / n)).toFixed(1);
  console.log(
    `\n| model | test accuracy % (± s.e.) | training steps x batch | examples seen | training s | peak training memory MiB |\n|---|---|---|---|---|---|\n${rows
      .map((r) => `| ${r.model} | ${pct(r.accuracy)} ± ${se(r.accuracy)} | ${r.steps === 0 ? '0' : `${r.steps} x 16`} | ${r.examples} | ${r.seconds.toFixed(r.steps === 0 ? 2 : 0)}${r.steps === 0 && r.seconds > 0 ? ' (port, file copy)' : ''} | ${r.peakMiB === undefined ? '–' : r.peakMiB.toFixed(1)} |`)
      .join('\n')}`,
  );
  const [, v2Plain, , ported, v2Retrained] = rows.map((r) => r.accuracy);
  const gain = v2Retrained - v2Plain;
  console.log(`\nmajority class ${pct(majority)}% of ${n} test mails.`);
  console.log(
    `gain over v2 without patch: ported ${(100 * (ported - v2Plain)).toFixed(1)} points, retrained ${(100 * gain).toFixed(1)} points` +
      (gain > 0 ? `; the ported patch recovers ${((100 * (ported - v2Plain)) / gain).toFixed(0)}% of the retrained patch's gain.` : '.'),
  );
  console.log(
    `patch residual (PortLLM's lemma): ‖ΔW_v2 − ΔW_v1‖ / ‖ΔW_v1‖ = ${residual.relative.toFixed(3)}, cos(ΔW_v1, ΔW_v2) = ${residual.cosine.toFixed(3)} (‖ΔW_v1‖ ${residual.norm1.toFixed(3)}, ‖ΔW_v2‖ ${residual.norm2.toFixed(3)}, unscaled B·A over all modules).`,
  );
  shutdownBackends();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
