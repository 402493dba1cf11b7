import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Model } from '@patchwork/models';
import { LoraAdapter } from '@patchwork/peft';
import { type MosAdapterSetDirs, type MosLearner, saveMosAdapterSet } from '@patchwork/retrieve';
import { learnSplitDigits, saveModelDir, type TaskImages } from '@patchwork/retrieve/src/testing/mos-fixture';
import { tinyVit } from '@patchwork/retrieve/src/testing/tiny-vit';
import { SafetensorsFile, initBackend, tf, writeSafetensors } from '@patchwork/tensor';
import { main } from './main';

let root: string;
let model: Model;
let learner: MosLearner;
let test: TaskImages;
let base: string;
let set: MosAdapterSetDirs;
let lora: string;
let inputs: string;
const N = 6;

async function read(file: string): Promise<Map<string, { data: Float32Array; shape: number[] }>> {
  const st = await SafetensorsFile.open(file);
  try {
    const out = new Map<string, { data: Float32Array; shape: number[] }>();
    for (const name of st.names()) out.set(name, { data: await st.readFloat32(name), shape: st.info(name).shape });
    return out;
  } finally {
    await st.close();
  }
}

function softmax(row: Float32Array): number[] {
  const max = Math.max(...row);
  const e = Array.from(row, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

const cli = (...args: string[]) => main(['node', 'patchwork', ...args]);

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'cli-retrieve-')));
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  model = tinyVit(5);
  ({ learner, test } = await learnSplitDigits(model, { tasks: 2, perClass: 20 }));
  base = await saveModelDir(model, path.join(root, 'base'));
  set = await saveMosAdapterSet(learner, path.join(root, 'mos'));
  const adapter = LoraAdapter.create(model, { r: 2, target_modules: ['query', 'value'], init_lora_weights: false }, { seed: 3 });
  lora = path.join(root, 'lora');
  await adapter.save(lora);
  adapter.dispose();
  // Images of both tasks: the first three of each.
  const picked = [0, 1, 2, ...[0, 1, 2].map((i) => test.taskIds.indexOf(1) + i)];
  test = { inputs: picked.map((i) => test.inputs[i]), labels: Int32Array.from(picked, (i) => test.labels[i]), taskIds: Int32Array.from(picked, (i) => test.taskIds[i]) };
  const data = new Float32Array(N * 64);
  test.inputs.forEach((x, i) => data.set(x, i * 64));
  inputs = path.join(root, 'inputs.safetensors');
  await writeSafetensors(inputs, { pixel_values: { dtype: 'F32', shape: [N, 1, 8, 8], data } });
}, 60_000);

afterAll(async () => {
  jest.restoreAllMocks();
  learner?.dispose();
  model?.dispose();
  await fs.rm(root, { recursive: true, force: true });
});

describe('patchwork retrieve', () => {
  it('ranks the set\'s task adapters for every input as the learner retrieves them', async () => {
    const out = path.join(root, 'ranked.json');
    expect(await cli('retrieve', '--base', base, '--adapters', set.router, ...set.tasks, '--inputs', inputs, '--out', out, '--backend', 'wasm')).toBe(0);
    const report = JSON.parse(await fs.readFile(out, 'utf8'));
    const expected = learner.retrieve(test.inputs);
    expect(report).toMatchObject({ base, router: set.router, inputs: N });
    expect(report.results).toHaveLength(N);
    for (const [i, r] of report.results.entries()) {
      expect(r.adapter).toBe(set.tasks[expected[i].taskId]);
      expect(r.adapters[0].adapter).toBe(r.adapter);
      expect(r.adapters.map((a: { adapter: string }) => a.adapter).sort()).toEqual([...set.tasks].sort());
      for (const a of r.adapters) expect(a.score).toBeCloseTo(expected[i].scores[a.task], 5);
    }
    // Routing picks the right task for most of these digits.
    expect(report.results.filter((r: { task: number }, i: number) => r.task === test.taskIds[i]).length).toBeGreaterThanOrEqual(4);

    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await cli('retrieve', '--base', base, '--adapters', ...set.tasks, set.router, '--inputs', inputs, '--top-k', '1', '--backend', 'wasm')).toBe(0);
      const printed = JSON.parse(stdout.mock.calls.map((c) => String(c[0])).join(''));
      expect(printed.results.map((r: { adapters: unknown[] }) => r.adapters.length)).toEqual(new Array(N).fill(1));
    } finally {
      stdout.mockRestore();
    }
  });

  it('predicts through the adapter MOS picks per input, or through one named adapter', async () => {
    const out = path.join(root, 'auto.safetensors');
    expect(await cli('predict', '--base', base, '--adapters', set.router, ...set.tasks, '--inputs', inputs, '--out', out, '--backend', 'wasm')).toBe(0);
    const tensors = await read(out);
    const routes = learner.retrieve(test.inputs);
    expect(tensors.get('logits')?.shape).toEqual([N, 4]);
    expect(Array.from(tensors.get('task_ids')?.data ?? [])).toEqual(routes.map((r) => r.taskId));
    expect(Array.from(tensors.get('classes')?.data ?? [])).toEqual([...learner.classes]);
    const logits = tensors.get('logits')?.data as Float32Array;
    for (const [i, r] of routes.entries()) {
      const head = learner.predict([test.inputs[i]], { taskId: r.taskId, ensemble: false }).scores;
      softmax(logits.subarray(i * 4, (i + 1) * 4)).forEach((p, j) => expect(p).toBeCloseTo(head[j], 5));
    }

    const one = path.join(root, 'lora.safetensors');
    expect(await cli('predict', '--base', base, '--adapter', lora, '--inputs', inputs, '--out', one, '--backend', 'wasm')).toBe(0);
    const reference = tf.tidy(() => {
      const adapter = LoraAdapter.create(model, { r: 2, target_modules: ['query', 'value'], init_lora_weights: false }, { seed: 3 });
      const pixels = tf.tensor4d(Float32Array.from(test.inputs.flatMap((x) => [...x])), [N, 1, 8, 8]);
      const values = model.forward({ pixelValues: pixels }, { patches: adapter.patches() }).logits.dataSync() as Float32Array;
      adapter.dispose();
      return values;
    });
    const got = (await read(one)).get('logits') as { data: Float32Array; shape: number[] };
    expect(got.shape).toEqual([N, 2]);
    got.data.forEach((v, i) => expect(v).toBeCloseTo(reference[i], 4));
  });

  it('exits 2 naming the problem', async () => {
    const errors: string[] = [];
    (process.stderr.write as unknown as jest.Mock).mockImplementation((s: string) => (errors.push(String(s)), true));
    const out = path.join(root, 'x.safetensors');
    const wrong = path.join(root, 'wrong.safetensors');
    await writeSafetensors(wrong, { pixel_values: { dtype: 'F32', shape: [1, 1, 4, 4], data: new Float32Array(16) } });
    const cases: [string[], string][] = [
      [['predict', '--base', base, '--inputs', inputs, '--out', out], '--adapter / --adapters'],
      [['predict', '--base', base, '--adapter', lora, '--adapters', set.router, '--inputs', inputs, '--out', out], '--adapter / --adapters'],
      [['predict', '--base', base, '--adapter', set.router, '--inputs', inputs, '--out', out], 'MOS learner'],
      [['retrieve', '--base', base, '--adapters', ...set.tasks, '--inputs', inputs], 'needs a MOS learner'],
      [['retrieve', '--base', base, '--adapters', set.router, ...set.tasks, lora, '--inputs', inputs], 'is not a task adapter'],
      [['retrieve', '--base', base, '--adapters', set.router, set.tasks[0], '--inputs', inputs], 'no task adapter was given for task(s) 1'],
      [['retrieve', '--base', base, '--adapters', set.router, ...set.tasks, '--inputs', wrong], '--inputs.pixelValues'],
      [['retrieve', '--base', base, '--adapters', set.router, ...set.tasks, '--inputs', path.join(root, 'missing.safetensors')], 'missing.safetensors'],
      [['retrieve', '--base', base, '--adapters', set.router, ...set.tasks, '--inputs', inputs, '--top-k', '0'], '--top-k'],
    ];
    for (const [args, message] of cases) {
      errors.length = 0;
      expect(await cli(...args, '--backend', 'wasm')).toBe(2);
      expect(errors.join('')).toContain(message);
    }
    expect(await cli('retrieve', '--base', base, '--inputs', inputs)).toBe(2);
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await cli('retrieve', '--help')).toBe(0);
      expect(await cli('predict', '--help')).toBe(0);
    } finally {
      stdout.mockRestore();
    }
  });
});
