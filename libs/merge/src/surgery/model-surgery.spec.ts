import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LinearSpec } from '@patchwork/models';
import { SeededRandom, writeSafetensors } from '@patchwork/tensor';
import { PEER_FIXTURES, readAll } from '../testing/fixtures';
import { SURGERY_NOTE, surgery } from './model-surgery';

let root: string;

/** Two gate matrices (4 units over a 3-wide hidden state) and one matrix the pattern leaves alone. */
const GATE0 = [
  [-1, 0, 0], // cos −1: score 1
  [0, 1, 0], // cos 0
  [1, 0, 0], // cos 1: score −1
  [-1, -1, 0], // score 1/√2
];
const GATE1 = [
  [-2, 0.1, 0], // score ≈ 0.99875
  [0, 0, 1],
  [-1, 1, 0], // score 1/√2, tied with GATE0 row 3
  [3, 0, 0],
];
const UP = [
  [-5, 0, 0],
  [1, 1, 1],
  [0, 2, 0],
  [1, 0, 0],
];
const PROBE = Float32Array.of(2, 0, 0);

const linear = (module: string, layout: 'out_in' | 'in_out'): LinearSpec => ({
  module,
  weightKey: `${module}.weight`,
  inFeatures: 3,
  outFeatures: 4,
  layout,
  kind: layout === 'in_out' ? 'conv1d' : 'linear',
  tied: false,
});
const transpose = (m: number[][]) => m[0].map((_, c) => m.map((row) => row[c]));

async function tinyModel(name: string, layout: 'out_in' | 'in_out'): Promise<{ dir: string; linears: Map<string, LinearSpec> }> {
  const dir = path.join(root, name);
  await fs.mkdir(dir);
  const stored = (m: number[][]) => (layout === 'in_out' ? transpose(m) : m);
  const tensor = (m: number[][]) => ({ dtype: 'F32' as const, shape: [stored(m).length, stored(m)[0].length], data: Float32Array.from(stored(m).flat()) });
  await writeSafetensors(path.join(dir, 'model.safetensors'), {
    'layers.0.mlp.gate.weight': tensor(GATE0),
    'layers.0.mlp.up.weight': tensor(UP),
    'layers.1.mlp.gate.weight': tensor(GATE1),
    'layers.0.norm.weight': { dtype: 'F32', shape: [3], data: Float32Array.of(1, 1, 1) },
  });
  const linears = new Map(['layers.0.mlp.gate', 'layers.0.mlp.up', 'layers.1.mlp.gate'].map((m) => [m, linear(m, layout)]));
  return { dir, linears };
}

/** Unit i of a stored weight as a row vector. */
function unitOf(values: Float32Array, shape: number[], layout: 'out_in' | 'in_out', i: number): number[] {
  return layout === 'in_out' ? Array.from({ length: shape[0] }, (_, k) => values[k * shape[1] + i]) : Array.from(values.subarray(i * shape[1], (i + 1) * shape[1]));
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'merge-surgery-'));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('surgery (Model Surgery)', () => {
  it.each(['out_in', 'in_out'] as const)('edits exactly the k rows most anti-aligned with the probe, over all matched modules (%s layout)', async (layout) => {
    const { dir, linears } = await tinyModel(`tiny-${layout}`, layout);
    const out = path.join(root, `tiny-${layout}-out`);
    const report = await surgery({ modelDir: dir, probe: PROBE, modules: /mlp\.gate$/, k: 3, alpha: 0.5, outDir: out, linears });
    // Scores 1 (gate0 row 0), 0.99875 (gate1 row 0), then the 1/√2 tie, which goes to the earlier module.
    expect(report.changedRows).toEqual({ 'layers.0.mlp.gate': [0, 3], 'layers.1.mlp.gate': [0] });
    expect(report).toMatchObject({ selected: 3, candidates: 8 });
    expect(report.scores.highest).toBeCloseTo(1, 12);
    expect(report.scores.lowest).toBeCloseTo(Math.SQRT1_2, 12);
    const before = await readAll(path.join(dir, 'model.safetensors'));
    const after = await readAll(path.join(out, 'model.safetensors'));
    for (const [name, t] of before) {
      const edited = after.get(name) as { shape: number[]; values: Float32Array };
      expect(edited.shape).toEqual(t.shape);
      const rows = report.changedRows[name.replace(/\.weight$/, '')] ?? [];
      for (let i = 0; i < (name.endsWith('norm.weight') ? 0 : 4); i++) {
        const expected = unitOf(t.values, t.shape, layout, i).map((w, d) => (rows.includes(i) ? Math.fround(w + 0.5 * PROBE[d]) : w));
        expect(unitOf(edited.values, t.shape, layout, i)).toEqual(expected);
      }
      if (rows.length === 0) expect(Array.from(edited.values)).toEqual(Array.from(t.values));
    }
    expect(JSON.parse(await fs.readFile(path.join(out, SURGERY_NOTE), 'utf8'))).toMatchObject({ kind: 'model-surgery', selected: 3, alpha: 0.5, changed_rows: { 'layers.0.mlp.gate': 2 } });
  });

  it('takes a fraction of the candidate rows, and a negative alpha moves toward the behaviour', async () => {
    const { dir, linears } = await tinyModel('tiny-fraction', 'out_in');
    const report = await surgery({ modelDir: dir, probe: PROBE, modules: 'gate', fraction: 0.25, alpha: -1, outDir: path.join(root, 'tiny-fraction-out'), linears });
    expect(report.changedRows).toEqual({ 'layers.0.mlp.gate': [0], 'layers.1.mlp.gate': [0] });
    const after = await readAll(path.join(root, 'tiny-fraction-out', 'model.safetensors'));
    expect(Array.from((after.get('layers.0.mlp.gate.weight') as { values: Float32Array }).values.subarray(0, 3))).toEqual([-3, 0, 0]);
  });

  it('reads GPT-2\'s Conv1D layout from the model and edits columns of c_fc', async () => {
    const gpt2 = path.join(PEER_FIXTURES, 'models/gpt2');
    const probe = new SeededRandom(9).fillGaussian(new Float32Array(32));
    const out = path.join(root, 'gpt2-out');
    const report = await surgery({ modelDir: gpt2, probe, modules: /mlp\.c_fc$/, k: 10, alpha: 1.08, outDir: out });
    // Independent scoring: c_fc weights are [32 in, 128 out]; unit i is column i.
    const before = await readAll(path.join(gpt2, 'model.safetensors'));
    const scored: { module: string; unit: number; score: number }[] = [];
    for (const layer of [0, 1]) {
      const w = before.get(`transformer.h.${layer}.mlp.c_fc.weight`) as { shape: number[]; values: Float32Array };
      expect(w.shape).toEqual([32, 128]);
      for (let i = 0; i < 128; i++) {
        const col = unitOf(w.values, w.shape, 'in_out', i);
        const dot = col.reduce((s, x, d) => s + x * probe[d], 0);
        const cos = dot / (Math.hypot(...col) * Math.hypot(...probe));
        scored.push({ module: `transformer.h.${layer}.mlp.c_fc`, unit: i, score: -cos });
      }
    }
    scored.sort((a, b) => b.score - a.score);
    const expected: Record<string, number[]> = {};
    for (const { module, unit } of scored.slice(0, 10)) (expected[module] ??= []).push(unit);
    for (const rows of Object.values(expected)) rows.sort((a, b) => a - b);
    expect(report.changedRows).toEqual(expected);
    const after = await readAll(path.join(out, 'model.safetensors'));
    let changed = 0;
    for (const [name, t] of before) {
      const e = after.get(name) as { values: Float32Array };
      for (let j = 0; j < t.values.length; j++) if (e.values[j] !== t.values[j]) changed++;
    }
    // Ten columns of 32 values moved (a zero probe entry would leave one in place; the probe has none).
    expect(changed).toBe(10 * 32);
    expect(JSON.parse(await fs.readFile(path.join(out, 'config.json'), 'utf8')).model_type).toBe('gpt2');
  });

  it('refuses probes of the wrong size, patterns matching nothing and tied heads, naming the module', async () => {
    const { dir, linears } = await tinyModel('tiny-errors', 'out_in');
    const base = { modelDir: dir, alpha: 1, outDir: path.join(root, 'never'), linears };
    await expect(surgery({ ...base, probe: Float32Array.of(1, 2), modules: 'gate', k: 1 })).rejects.toThrow(/modules\.layers\.0\.mlp\.gate: rows have 3 inputs but the probe has 2 values/);
    await expect(surgery({ ...base, probe: PROBE, modules: 'attn', k: 1 })).rejects.toThrow(/matches none of the model's linear modules/);
    await expect(surgery({ ...base, probe: PROBE, modules: 'gate', k: 9 })).rejects.toThrow(/k: selects 9 of the 8 candidate rows/);
    await expect(surgery({ ...base, probe: PROBE, modules: 'gate', k: 1, fraction: 0.5 })).rejects.toThrow(/k: give exactly one of k and fraction/);
    await expect(surgery({ ...base, probe: new Float32Array(3), modules: 'gate', k: 1 })).rejects.toThrow(/probe: is all zeros/);
    const tied = new Map([['lm_head', { ...linear('lm_head', 'out_in'), weightKey: 'layers.0.mlp.up.weight', tied: true }]]);
    await expect(surgery({ ...base, probe: PROBE, modules: 'lm_head', k: 1, linears: tied })).rejects.toThrow(/modules\.lm_head: shares its weight/);
    await expect(fs.access(path.join(root, 'never'))).rejects.toThrow();
  });
});
