// Model Surgery in miniature: make gpt2-tiny write less spam-like text while its held-out
// perplexity barely moves. A behaviour probe (ham vs spam) is trained on the model's last-layer
// hidden states, the MLP input rows most anti-aligned with it are shifted by alpha * probe
// (surgery of libs/merge), and for each alpha the model continues the openings of held-out
// spam mails; a spam classifier trained with trainFromConfig judges the continuations. Prints the
// markdown table of the README.
// Run from the repository root (backbones are built on first use and cached under --data-dir):
//   npx tsx libs/merge/scripts/measure-surgery.ts [--data-dir DIR] [--out DIR] [--seed 42] [--shifts -4,0,2,4,8,16] [--prompts 120] [--evolved]
//     [--fraction 0.05] [--top-k 10] [--new-tokens 32] [--prompt-tokens 12] [--probe-examples 400] [--sotu-docs 1]
//     [--judge-steps 150] [--judge-lr 6e-3 | --judge-adapter DIR]
import { cachedBackbone } from '@patchwork/backbones';
import { type TextTaskSplits, loadTask, mulberry32, shuffleInPlace } from '@patchwork/datasets';
import { type BehaviourProbe, behaviourRate, evaluate, generate, loadTaskConfig, probeDirection, trainProbe } from '@patchwork/evaluate';
import { trainFromConfig } from '@patchwork/finetune';
import { type Model, loadModel } from '@patchwork/models';
import { Checkpoint, initBackend, shutdownBackends } from '@patchwork/tensor';
import { type Tokenizer, loadTokenizer } from '@patchwork/tokenizers';
import { mkdtemp } from 'node:fs/promises';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { parseArgs } from 'node:util';
import { surgery } from '../src';
import { type SpamPatchSettings, promptClassifier, spamLoraRecipe } from './spam-prompt-patch';

const EDITED = /mlp\.c_fc$/;
const HAM = 0;
const SPAM = 1;

interface Judgement {
  /** Share of texts the classifier calls spam. */
  rate: number;
  /** Mean probability of spam it gives them. */
  meanProbability: number;
}

interface Judge {
  judge(texts: readonly string[]): Judgement;
  accuracy: number;
  dispose(): void;
}

/**
 * The spam classifier of the train service: gpt2-tiny + the spam LoRA patch, read through the
 * prompt head. Trained here, or an adapter trained earlier with the same recipe (`--judge-adapter`).
 */
async function spamJudge(baseDir: string, outDir: string, settings: SpamPatchSettings, adapterDir?: string): Promise<Judge> {
  let expected: number | undefined;
  if (adapterDir === undefined) {
    const t0 = performance.now();
    const trained = await trainFromConfig(spamLoraRecipe(settings), { baseModelDir: baseDir, outDir });
    console.log(`judge: ${settings.steps} steps in ${((performance.now() - t0) / 1000).toFixed(0)} s, runner test accuracy ${(100 * trained.metrics.test_accuracy).toFixed(1)}%`);
    adapterDir = trained.adapterDir;
    expected = trained.metrics.test_accuracy;
  }
  const classifier = await promptClassifier(baseDir, adapterDir, settings.maxLength);
  const accuracy = classifier.scoreTestSplit().accuracy;
  if (expected !== undefined && Math.abs(accuracy - expected) > 1e-12) {
    classifier.dispose();
    throw new Error(`judge scored ${accuracy} on the test split, the runner reported ${expected}`);
  }
  // An empty continuation (the model ended at once) is scored as a single space.
  const judge = (texts: readonly string[]): Judgement => {
    const { predictions, probabilities } = classifier.score(texts.map((t) => (t.trim() === '' ? ' ' : t)));
    let spam = 0;
    let p = 0;
    predictions.forEach((y, i) => {
      spam += y === SPAM ? 1 : 0;
      p += probabilities[2 * i + SPAM];
    });
    return { rate: spam / texts.length, meanProbability: p / texts.length };
  };
  return { judge, accuracy, dispose: () => classifier.dispose() };
}

/** Token perplexity of the held-out Moby Dick chapters and State of the Union addresses (rolling 64-token windows). */
async function heldOutPerplexity(model: Model, tokenizer: Tokenizer, sotuDocs: number): Promise<{ moby: number; sotu: number }> {
  const run = async (name: string, limit?: number) => {
    const out = await evaluate({ model, tokenizer, task: await loadTaskConfig(name), batchSize: 32, limit, bootstrapIters: 100 });
    return out.results.results[name]['token_perplexity,none'] as number;
  };
  return { moby: await run('moby_dick_ppl'), sotu: await run('sotu_ppl', sotuDocs) };
}

/** Mean L2 norm of the edited modules' rows (each unit's weights over the hidden size). */
async function meanRowNorm(dir: string): Promise<number> {
  const model = await loadModel(dir);
  const checkpoint = await Checkpoint.open(dir);
  try {
    let sum = 0;
    let count = 0;
    for (const spec of model.linears.values()) {
      if (!EDITED.test(spec.module)) continue;
      const w = await checkpoint.readFloat32(spec.weightKey);
      const norms = new Float64Array(spec.outFeatures);
      // A unit's row is a column of GPT-2's Conv1D ([in, out]) and a row of an [out, in] weight.
      const at = (d: number, u: number) => (spec.layout === 'in_out' ? d * spec.outFeatures + u : u * spec.inFeatures + d);
      for (let d = 0; d < spec.inFeatures; d++) for (let u = 0; u < spec.outFeatures; u++) norms[u] += w[at(d, u)] ** 2;
      for (const n of norms) sum += Math.sqrt(n);
      count += spec.outFeatures;
    }
    return sum / count;
  } finally {
    await checkpoint.close();
    model.dispose();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string', default: nodePath.join(os.tmpdir(), 'patchwork-merge-data') },
      out: { type: 'string' },
      seed: { type: 'string', default: '42' },
      // alpha = shift · (mean row norm) / ‖v‖: each edited row moves by `shift` times a typical row's length.
      shifts: { type: 'string', default: '-4,0,2,4,8,16' },
      prompts: { type: 'string', default: '120' },
      // gpt2-tiny --evolved has also read ham mails (never spam), so it writes more mail-like text.
      evolved: { type: 'boolean', default: false },
      fraction: { type: 'string', default: '0.05' },
      'top-k': { type: 'string', default: '10' },
      'new-tokens': { type: 'string', default: '32' },
      'prompt-tokens': { type: 'string', default: '12' },
      'probe-examples': { type: 'string', default: '400' },
      'judge-steps': { type: 'string', default: '150' },
      'judge-lr': { type: 'string', default: '6e-3' },
      'judge-adapter': { type: 'string' },
      'sotu-docs': { type: 'string', default: '1' },
    },
  });
  const dataDir = values['data-dir'] as string;
  const seed = Number(values.seed);
  const shifts = (values.shifts as string).split(',').map(Number);
  const fraction = Number(values.fraction);
  const topK = Number(values['top-k']);
  const newTokens = Number(values['new-tokens']);
  const promptTokens = Number(values['prompt-tokens']);
  const perClass = Number(values['probe-examples']);
  const sotuDocs = Number(values['sotu-docs']);
  const info = await initBackend({ backend: 'wasm' });
  const outRoot = values.out ?? (await mkdtemp(nodePath.join(os.tmpdir(), 'surgery-')));
  const started = performance.now();
  console.log(`backend ${info.name} (${info.threads} thread(s)); ${new Date().toISOString()}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; data ${dataDir}; out ${outRoot}`);

  const gpt2 = await cachedBackbone('gpt2-tiny', { dataDir, evolved: values.evolved });
  // The judge is the train service's classifier on the plain backbone, whichever model is edited.
  const judgeBase = values.evolved ? await cachedBackbone('gpt2-tiny', { dataDir }) : gpt2;
  const tokenizer = await loadTokenizer(gpt2.dir);
  const maxLength = 64;
  const eos = tokenizer.specialTokens.eos?.id;
  const task = loadTask('spam') as TextTaskSplits;

  // The probe reads training mails only; prompts and the judge's test come from the test split.
  const rng = mulberry32(seed);
  const byClass = (k: number) => shuffleInPlace(Array.from(task.train.labels.keys()).filter((i) => task.train.labels[i] === k), rng).slice(0, perClass);
  const probeRows = [...byClass(HAM), ...byClass(SPAM)];
  const base = await loadModel(gpt2.dir);
  let probe: BehaviourProbe;
  try {
    const t0 = performance.now();
    const fit = trainProbe({ model: base, tokenizer, inputs: probeRows.map((i) => task.train.inputs[i]), labels: probeRows.map((i) => task.train.labels[i]), classes: ['ham', 'spam'], layer: -1, pooling: 'mean', seed });
    probe = fit.probe;
    console.log(`probe: layer ${probe.layer}, mean pooling, ${fit.n_train} train / ${fit.n_test} held-out mails, accuracy ${(100 * fit.train_accuracy).toFixed(1)}% / ${(100 * (fit.test_accuracy ?? NaN)).toFixed(1)}% (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  } finally {
    base.dispose();
  }
  const direction = probeDirection(probe, 'spam');
  const probeNorm = Math.sqrt(direction.reduce((s, x) => s + x * x, 0));

  const judge = await spamJudge(judgeBase.dir, nodePath.join(outRoot, 'judge'), { steps: Number(values['judge-steps']), lr: Number(values['judge-lr']), seed, maxLength }, values['judge-adapter']);
  try {
    const encode = (text: string) => tokenizer.encode(text, undefined, { addSpecialTokens: false }).ids;
    const spamMails = task.test.inputs.filter((_, i) => task.test.labels[i] === SPAM);
    const hamMails = task.test.inputs.filter((_, i) => task.test.labels[i] === HAM);
    const withStart = (ids: number[]) => (eos === undefined ? ids : [eos, ...ids]);
    const prompts = spamMails.slice(0, Number(values.prompts)).map((m) => withStart(encode(m).slice(0, promptTokens)));
    // Calibration: what the judge says of real mail text of the same length, right after the same opening.
    const realNext = (mails: string[]) => mails.map((m) => tokenizer.decode(encode(m).slice(promptTokens, promptTokens + newTokens))).filter((t) => t.trim() !== '');
    const realSpam = judge.judge(realNext(spamMails));
    const realHam = judge.judge(realNext(hamMails));

    const rows: string[] = [];
    const rowNorm = await meanRowNorm(gpt2.dir);
    let edited = 0;
    for (const shift of shifts) {
      const alpha = (shift * rowNorm) / probeNorm;
      let dir = gpt2.dir;
      if (alpha !== 0) {
        dir = nodePath.join(outRoot, `surgery-shift-${shift}`);
        const report = await surgery({ modelDir: gpt2.dir, probe: direction, modules: EDITED, fraction, alpha, outDir: dir });
        edited = report.selected;
        console.log(`alpha ${alpha.toPrecision(3)} (shift ${shift}): ${report.selected} of ${report.candidates} rows edited (scores ${report.scores.lowest.toFixed(3)}..${report.scores.highest.toFixed(3)})`);
      }
      const model = await loadModel(dir);
      try {
        const t0 = performance.now();
        const generations = generate({ model, prompts, maxNewTokens: newTokens, topK, seed, stopTokens: eos === undefined ? [] : [eos], batchSize: 32 });
        const texts = generations.map((g) => tokenizer.decode(g.tokens, { skipSpecialTokens: true }));
        const t1 = performance.now();
        const judged = judge.judge(texts);
        const own = behaviourRate(model, generations.map((g, i) => [...prompts[i], ...g.tokens].filter((t) => t !== eos)), probe, { targetClass: 'spam' });
        const onMails = behaviourRate(model, spamMails, probe, { tokenizer, targetClass: 'spam' });
        const t2 = performance.now();
        const ppl = await heldOutPerplexity(model, tokenizer, sotuDocs);
        const secs = (a: number, b: number) => ((b - a) / 1000).toFixed(0);
        console.log(`shift ${shift}: generate ${secs(t0, t1)} s, judge + probe ${secs(t1, t2)} s, perplexity ${secs(t2, performance.now())} s; sample "${texts[0].replace(/\s+/g, ' ').slice(0, 120)}"`);
        rows.push(
          `| ${alpha === 0 ? 0 : alpha.toPrecision(3)} | ${shift} | ${alpha === 0 ? 0 : edited} | ${(100 * judged.rate).toFixed(1)} (${(100 * judged.meanProbability).toFixed(1)}) | ${(100 * own.rate).toFixed(1)} | ${(100 * onMails.rate).toFixed(1)} | ${ppl.moby.toFixed(1)} | ${ppl.sotu.toFixed(1)} |`,
        );
      } finally {
        model.dispose();
      }
    }
    console.log(
      `\nprobe ‖v‖ = ${probeNorm.toFixed(3)}; mean row norm of ${EDITED} = ${rowNorm.toFixed(3)}; ${prompts.length} prompts (first ${promptTokens} tokens of held-out spam mails), ${newTokens} new tokens, top-k ${topK}, seed ${seed}; perplexity on all held-out Moby Dick chapters and the first ${sotuDocs} held-out SOTU address(es)`,
    );
    const pctOf = (j: Judgement) => `${(100 * j.rate).toFixed(1)}% (mean P(spam) ${(100 * j.meanProbability).toFixed(1)}%)`;
    console.log(`judge: test accuracy ${(100 * judge.accuracy).toFixed(1)}%; on the real next ${newTokens} tokens after the same ${promptTokens}-token openings it calls ${pctOf(realSpam)} of spam mails and ${pctOf(realHam)} of ham mails spam`);
    console.log(
      `\n| alpha | ‖alpha·v‖ / mean row norm | rows edited | spam rate of generations % (mean P(spam) %), judge | probe behaviour rate on generations % | probe behaviour rate on held-out spam mails % | Moby Dick ppl | SOTU ppl |\n|---|---|---|---|---|---|---|---|\n${rows.join('\n')}`,
    );
    console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    judge.dispose();
    shutdownBackends();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
