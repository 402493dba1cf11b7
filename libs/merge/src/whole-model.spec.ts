import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SeededRandom } from '@patchwork/tensor';
import { MergeProgress, executeMerge, parseMergeYaml, planMerge } from './index';
import { tiesMerging } from './math/ties-paper';
import { PEER_FIXTURES, maxAbsDiff, readAll } from './testing/fixtures';
import { TensorPart, readSplitModel, writeSplitModel } from './testing/checkpoints';

/** The fixture's 3000-element task vectors cut into tensors of four different shapes (and layer indices). */
const PARTS: TensorPart[] = [
  { name: 'model.layers.1.mlp.weight', shape: [40, 25] },
  { name: 'model.layers.0.bias', shape: [13] },
  { name: 'model.layers.0.attn.weight', shape: [11, 7, 3] },
  { name: 'model.embed.weight', shape: [1756] },
];

let root: string;
const resolve = async (ref: string) => ref;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'merge-whole-'));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function runMerge(yaml: string, out: string, onProgress?: (p: MergeProgress) => void) {
  const plan = await planMerge(parseMergeYaml(yaml, root), resolve);
  try {
    return await executeMerge(plan, { outDir: path.join(root, out), onProgress });
  } finally {
    await plan.close();
  }
}

describe('pcb with scope: model over a multi-tensor checkpoint', () => {
  let fixture: Map<string, { shape: number[]; values: Float32Array }>;
  let tasks: Float32Array[];
  const errors: Record<string, number> = {};

  beforeAll(async () => {
    fixture = await readAll(path.join(PEER_FIXTURES, 'merges/pcb.safetensors'));
    const tv = fixture.get('task_vectors') as { shape: number[]; values: Float32Array };
    const [n, d] = tv.shape;
    tasks = Array.from({ length: n }, (_, i) => tv.values.slice(i * d, (i + 1) * d));
    // A zero base makes θ_i = τ_i exactly, so the comparison sees PCB's arithmetic only.
    await writeSplitModel(path.join(root, 'zero'), PARTS, new Float32Array(3000));
    for (const [i, t] of tasks.entries()) await writeSplitModel(path.join(root, `task${i}`), PARTS, t);
  });
  afterAll(() => process.stdout.write(`pcb scope=model (split into ${PARTS.length} tensors) max abs errors: ${JSON.stringify(errors)}\n`));

  it.each([0.05, 0.1, 0.2, 0.5])('ratio %s matches the authors\' flat PCB_merge within 1e-5', async (ratio) => {
    const models = tasks.map((_, i) => `  - model: task${i}`).join('\n');
    const phases: string[] = [];
    const summary = await runMerge(`merge_method: pcb\nbase_model: zero\nmodels:\n${models}\nparameters: {ratio: ${ratio}, clip: 0.0001}\n`, `pcb-${ratio}`, (p) =>
      void phases.push(`${p.phase}${p.walk ?? ''}`),
    );
    expect(summary.statisticsWalks).toBe(4);
    expect([...new Set(phases)]).toEqual(['statistics1', 'statistics2', 'statistics3', 'statistics4', 'merge']);
    // Bounded memory: one tensor of each input (base + 4 models) plus the output, for the largest tensor.
    expect(summary.peakTensorBytes).toBe(1756 * 4 * 6);
    const merged = await readSplitModel(path.join(root, `pcb-${ratio}`), PARTS);
    errors[`r${ratio}`] = maxAbsDiff(merged, (fixture.get(`merged.r${ratio}`) as { values: Float32Array }).values);
    expect(errors[`r${ratio}`]).toBeLessThanOrEqual(1e-5);
  });

  it('with a real base, the output is base + lambda · merged, and scope: tensor differs', async () => {
    const rng = new SeededRandom(5);
    const base = rng.fillUniform(new Float32Array(3000), -0.01, 0.01);
    await writeSplitModel(path.join(root, 'base'), PARTS, base);
    for (const [i, t] of tasks.entries()) await writeSplitModel(path.join(root, `ft${i}`), PARTS, base.map((b, j) => b + t[j]));
    const models = tasks.map((_, i) => `  - model: ft${i}`).join('\n');
    await runMerge(`merge_method: pcb\nbase_model: base\nmodels:\n${models}\nparameters: {ratio: 0.1, lambda: 1.5}\n`, 'pcb-base');
    const out = await readSplitModel(path.join(root, 'pcb-base'), PARTS);
    const expected = (fixture.get('merged.r0.1') as { values: Float32Array }).values.map((m, j) => base[j] + 1.5 * m);
    expect(maxAbsDiff(out, expected)).toBeLessThanOrEqual(3e-5);
    const perTensor = await runMerge(`merge_method: pcb\nbase_model: base\nmodels:\n${models}\nparameters: {ratio: 0.1, lambda: 1.5, scope: tensor}\n`, 'pcb-tensor');
    expect(perTensor.statisticsWalks).toBe(0);
    expect(maxAbsDiff(await readSplitModel(path.join(root, 'pcb-tensor'), PARTS), expected)).toBeGreaterThan(1e-3);
  });

  it('refuses a ratio that varies by layer under scope: model', async () => {
    const models = tasks.map((_, i) => `  - model: task${i}`).join('\n');
    await expect(runMerge(`merge_method: pcb\nbase_model: zero\nmodels:\n${models}\nparameters: {ratio: [0.1, 0.2]}\n`, 'pcb-bad')).rejects.toThrow(
      /ratio under scope: model takes one value for the whole model/,
    );
  });
});

describe('ties with semantics: paper over a multi-tensor checkpoint', () => {
  it('equals the original ties_merging on the flattened model, for both sign methods', async () => {
    const rng = new SeededRandom(11);
    const tasks = [0, 1, 2].map(() => rng.fillGaussian(new Float32Array(3000)));
    // Exact zeros and equal magnitudes exercise the zero-election and threshold-tie paths.
    tasks[1].fill(0, 0, 300);
    tasks[2].fill(0.5, 1000, 1100);
    await writeSplitModel(path.join(root, 'tzero'), PARTS, new Float32Array(3000));
    for (const [i, t] of tasks.entries()) await writeSplitModel(path.join(root, `tt${i}`), PARTS, t);
    const models = tasks.map((_, i) => `  - {model: tt${i}, parameters: {weight: 1, density: ${[0.2, 0.3, 0.2][i]}}}`).join('\n');
    for (const method of ['total', 'frequency'] as const) {
      const summary = await runMerge(
        `merge_method: ties\nbase_model: tzero\nmodels:\n${models}\nparameters: {semantics: paper, majority_sign_method: ${method}, lambda: 1}\n`,
        `ties-paper-${method}`,
      );
      expect(summary.statisticsWalks).toBe(3);
      const merged = await readSplitModel(path.join(root, `ties-paper-${method}`), PARTS);
      expect(maxAbsDiff(merged, tiesMerging(tasks, [0.2, 0.3, 0.2], method))).toBe(0);
    }
  });
});
