// The results tables of the train issue, in miniature, on the real tasks of @patchwork/datasets.
// Run from the repository root (backbones are built on first use and cached under --data-dir):
//   npx tsx libs/finetune/bench/results.ts [--data-dir DIR] [--out DIR] [--steps 150] [--only peft,text,list,muscle]
import { cachedBackbone } from '@patchwork/backbones';
import { type TaskSplits, loadTask } from '@patchwork/datasets';
import { Checkpoint, type TensorData, initBackend, shutdownBackends, tf, writeSafetensors } from '@patchwork/tensor';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { parseArgs } from 'node:util';
import { type EncodingCache, type TrainFromConfigResult, trainFromConfig } from '../src/index';

const MiB = 1024 * 1024;
const pct = (x: number | undefined) => (x === undefined ? '–' : (100 * x).toFixed(1));
const mib = (x: number | undefined) => (x === undefined ? '–' : (x / MiB).toFixed(1));
const int = (x: number) => x.toLocaleString('en-US');

/** A copy of a backbone directory with its weights redrawn as transformers initialises a fresh model (N(0, 0.02²), norms 1, biases 0). */
async function randomInitCopy(src: string, dst: string, seed: number): Promise<string> {
  await mkdir(dst, { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) await cp(nodePath.join(src, f), nodePath.join(dst, f));
  const checkpoint = await Checkpoint.open(src);
  const record: Record<string, TensorData> = {};
  let s = seed;
  try {
    for (const name of checkpoint.names()) {
      const t = await checkpoint.readTensor(name);
      const fresh = tf.tidy(() => (/LayerNorm\.weight$/.test(name) ? tf.onesLike(t) : /bias$/.test(name) ? tf.zerosLike(t) : tf.randomNormal(t.shape, 0, 0.02, 'float32', s++)));
      record[name] = { dtype: 'F32', shape: [...t.shape], data: fresh.dataSync() as Float32Array };
      tf.dispose([t, fresh]);
    }
  } finally {
    await checkpoint.close();
  }
  await writeSafetensors(nodePath.join(dst, 'model.safetensors'), record, { format: 'pt' });
  return dst;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string', default: nodePath.join(os.tmpdir(), 'patchwork-finetune-data') },
      out: { type: 'string' },
      steps: { type: 'string', default: '150' },
      only: { type: 'string', default: 'peft,text,list,muscle' },
      seed: { type: 'string', default: '42' },
    },
  });
  const only = new Set((values.only as string).split(','));
  const steps = Number(values.steps);
  const seed = Number(values.seed);
  const dataDir = values['data-dir'] as string;
  const info = await initBackend({ backend: 'wasm' });
  const outRoot = values.out ?? (await mkdtemp(nodePath.join(os.tmpdir(), 'finetune-results-')));
  const started = performance.now();
  console.log(`backend ${info.name} (${info.threads} thread(s)); ${steps} steps per run; data ${dataDir}`);
  const cache: EncodingCache = new Map();
  const tasks = new Map<string, TaskSplits>();
  const taskOf = (name: string) => {
    if (!tasks.has(name)) tasks.set(name, loadTask(name) as TaskSplits);
    return tasks.get(name) as TaskSplits;
  };
  const tables: string[] = [];
  const run = async (label: string, base: string, config: Record<string, unknown>): Promise<TrainFromConfigResult> => {
    const t0 = performance.now();
    const result = await trainFromConfig(config, {
      baseModelDir: base,
      outDir: nodePath.join(outRoot, label.replace(/[^a-z0-9]+/gi, '-').toLowerCase()),
      loadTask: taskOf,
      encodingCache: cache,
      profileMemory: true,
    });
    console.log(`  ${label}: test accuracy ${pct(result.metrics.test_accuracy)}% (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    return result;
  };
  const trainer = (extra: Record<string, unknown>) => ({ steps, warmup: 0.1, schedule: 'linear', eval_every: steps, checkpoint_every: steps, seed, ...extra });

  if (only.has('peft')) {
    const vit = await cachedBackbone('vit-digits', { dataDir });
    console.log('\n[methods on one backbone] vit-digits, task digits (10 classes; the backbone was trained on 0-4)');
    const c = (method: string, lr: number, parameters: Record<string, unknown> = {}) => ({ method, task: 'digits', parameters, trainer: trainer({ lr, batch_size: 32 }) });
    const qv = ['query', 'value'];
    const rows: Array<[string, TrainFromConfigResult]> = [
      ['full fine-tuning', await run('digits full', vit.dir, c('full', 2e-3))],
      ['LoRA r=8 (q,v)', await run('digits lora', vit.dir, c('lora', 1e-2, { r: 8, lora_alpha: 16, target_modules: qv }))],
      ['AdaLoRA r 12→8 (q,v)', await run('digits adalora', vit.dir, c('adalora', 1e-2, { init_r: 12, target_r: 8, lora_alpha: 16, target_modules: qv }))],
      ['HUT r=8 (q,v)', await run('digits hut', vit.dir, c('hut', 1e-2, { r: 8, hut_alpha: 16, target_modules: qv }))],
      ['LST r=4', await run('digits lst', vit.dir, c('lst', 1e-2, { reduction_factor: 4, fisher_samples: 64 }))],
    ];
    tables.push(
      [
        `### Methods on one backbone and budget: vit-digits, task \`digits\`, ${steps} steps x 32, head re-initialised to 10 classes`,
        '',
        '| method | test accuracy % | trainable params | peak training memory MiB (step high-water) | trainer-sampled peak MiB | examples/s |',
        '|---|---|---|---|---|---|',
        ...rows.map(([label, r]) => `| ${label} | ${pct(r.metrics.test_accuracy)} | ${int(r.trainableParameters)} | ${mib(r.stepPeakBytes)} | ${mib(r.peakMemoryBytes)} | ${r.examplesPerSec.toFixed(0)} |`),
      ].join('\n'),
    );
  }

  const text = await cachedBackbone('bert-tiny', { dataDir });
  const spam = { max_length: 32, max_train_examples: 2000, max_eval_examples: 300, max_test_examples: 593 };
  if (only.has('text')) {
    console.log('\n[text backbone check] bert-tiny vs the same architecture freshly initialised, task spam');
    const random = await randomInitCopy(text.dir, nodePath.join(outRoot, 'bert-tiny-random-init'), seed);
    const c = { method: 'full', task: 'spam', data: spam, trainer: trainer({ lr: 1e-3, batch_size: 16 }) };
    const pre = await run('spam full pretrained', text.dir, c);
    const rnd = await run('spam full random-init', random, c);
    tables.push(
      [
        `### Text backbone check: full fine-tuning on \`spam\` (first 32 tokens), ${steps} steps x 16`,
        '',
        '| base | test accuracy % | majority class % |',
        '|---|---|---|',
        `| bert-tiny (pre-trained by @patchwork/backbones) | ${pct(pre.metrics.test_accuracy)} | 69.6 |`,
        `| bert-tiny architecture, fresh N(0, 0.02) weights | ${pct(rnd.metrics.test_accuracy)} | 69.6 |`,
      ].join('\n'),
    );
  }

  const gpt2 = await cachedBackbone('gpt2-tiny', { dataDir });
  // GPT-2 reads a mail through its LM head: the next token after the prompt is a label word.
  const prompt = { template: '{text}\nThis mail is {mask}', label_words: ['good', 'free'] };
  if (only.has('list')) {
    console.log('\n[few-shot] spam, 30 labels per class');
    const fewShot = { ...spam, labels_per_class: 30 };
    const adapters = { r: 8, lora_alpha: 16, target_modules: ['attn.c_proj', 'mlp.c_proj'] };
    const few = trainer({ batch_size: 8 });
    const classic = await run('fewshot classic bert', text.dir, { method: 'full', task: 'spam', data: fewShot, trainer: { ...few, lr: 1e-3 } });
    const promptFull = await run('fewshot prompt full', gpt2.dir, { method: 'full', task: 'spam', prompt, data: fewShot, trainer: { ...few, lr: 1e-3 } });
    const promptLora = await run('fewshot prompt lora', gpt2.dir, { method: 'lora', task: 'spam', prompt, data: fewShot, parameters: adapters, trainer: { ...few, lr: 1e-2 } });
    const list = await run('fewshot list', gpt2.dir, {
      method: 'list',
      task: 'spam',
      prompt,
      data: fewShot,
      parameters: { lora: adapters, sessions: 2, teacher_steps: steps, self_training_steps: Math.round(steps / 2), finetune_steps: Math.round(steps / 4), max_unlabeled: 512 },
      trainer: { ...few, lr: 1e-2 },
    });
    tables.push(
      [
        `### Few-shot: \`spam\`, 30 labels per class, ${steps} steps x 8 (LiST: teacher ${steps}, then per session ${Math.round(steps / 2)} self-training x 16 + ${Math.round(steps / 4)} fine-tuning steps); prompt "${prompt.template.replace('\n', '\\n')}" → ${prompt.label_words.join(' / ')}`,
        '',
        '| method | backbone | tuned parameters | test accuracy % |',
        '|---|---|---|---|',
        `| classic fine-tuning (full model, classifier head) | bert-tiny | ${int(classic.trainableParameters)} | ${pct(classic.metrics.test_accuracy)} |`,
        `| prompt fine-tuning, full model (LM-BFF) | gpt2-tiny | ${int(promptFull.trainableParameters)} | ${pct(promptFull.metrics.test_accuracy)} |`,
        `| prompt fine-tuning, LoRA adapters only | gpt2-tiny | ${int(promptLora.trainableParameters)} | ${pct(promptLora.metrics.test_accuracy)} |`,
        `| LiST (same adapters; teacher = the row above, then 2 sessions of self-training on 512 unlabelled mails) | gpt2-tiny | ${int(list.trainableParameters)} | ${pct(list.metrics.test_accuracy)} |`,
        `| (LiST's teacher after its prompt fine-tuning, for reference) | gpt2-tiny | | ${pct(list.metrics.teacher_test_accuracy)} |`,
      ].join('\n'),
    );
  }

  if (only.has('muscle')) {
    // bert-tiny with a classifier head: gpt2-tiny's prompt head stays at the majority class on
    // this budget, which leaves no flips to measure.
    const evolved = await cachedBackbone('bert-tiny', { dataDir, evolved: true });
    console.log('\n[MUSCLE] bert-tiny → bert-tiny --evolved, spam');
    const recipe = { method: 'lora', task: 'spam', data: spam, parameters: { r: 8, lora_alpha: 16, target_modules: ['query', 'value'] }, trainer: trainer({ lr: 5e-3, batch_size: 16 }) };
    const old = await run('muscle old', text.dir, recipe);
    const fresh = await run('muscle new', evolved.dir, recipe);
    const compat = await run('muscle compat', evolved.dir, {
      ...recipe,
      method: 'muscle',
      parameters: { old_base_model: text.dir, old_adapter: old.adapterDir, new_adapter: fresh.adapterDir, temperature: 2 },
      trainer: trainer({ lr: 2e-3, batch_size: 16, steps: Math.round((2 * steps) / 3), eval_every: Math.round((2 * steps) / 3), checkpoint_every: Math.round((2 * steps) / 3) }),
    });
    const m = compat.metrics;
    tables.push(
      [
        `### MUSCLE: bert-tiny + LoRA (old) → bert-tiny --evolved + LoRA (new, same recipe: ${steps} steps x 16), compatibility adapter ${Math.round((2 * steps) / 3)} steps, \`spam\` test split`,
        '',
        '| model | test accuracy % | negative flips vs old % | positive flips vs old % |',
        '|---|---|---|---|',
        `| old: v1 + Δ1 | ${pct(m.muscle_acc_old)} | – | – |`,
        `| new: v2 + Δ2 | ${pct(m.muscle_acc_new)} | ${pct(m.muscle_nfr_new)} | ${pct(m.muscle_pfr_new)} |`,
        `| new + compatibility adapter (from Δ2) | ${pct(m.muscle_acc_compat)} | ${pct(m.muscle_nfr_compat)} | ${pct(m.muscle_pfr_compat)} |`,
        '',
        `ΔNFR ${(100 * m.muscle_nfr_delta).toFixed(2)} points${m.muscle_nfr_delta_percent === undefined ? '' : ` (${m.muscle_nfr_delta_percent.toFixed(1)}% of NFR)`}; accuracy change ${(100 * m.muscle_acc_delta).toFixed(2)} points.`,
      ].join('\n'),
    );
  }

  console.log(`\n${tables.join('\n\n')}\n`);
  console.log(`total ${((performance.now() - started) / 1000).toFixed(0)} s (backbones cached), ${tf.memory().numTensors} tensors left`);
  if (values.out === undefined) await rm(outRoot, { recursive: true, force: true });
  shutdownBackends();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
