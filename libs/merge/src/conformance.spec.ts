import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SeededRandom } from '@patchwork/tensor';
import { executeMerge, parseMergeYaml, planMerge } from './index';
import { slerp as slerpVectors } from './math/slerp';
import { TensorPart, readSplitModel, writeSplitModel } from './testing/checkpoints';
import { PEER_FIXTURES, maxAbsDiff, readAll } from './testing/fixtures';

let root: string;
const resolve = async (ref: string) => ref;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'merge-conf-'));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function run(yaml: string, out: string) {
  const plan = await planMerge(parseMergeYaml(yaml, root), resolve);
  try {
    await executeMerge(plan, { outDir: path.join(root, out) });
    return plan;
  } finally {
    await plan.close();
  }
}

describe('recipes with semantics: peft through plan and execute match PEFT (fixtures/peer/merges/peft_merge_utils)', () => {
  const PART: TensorPart[] = [{ name: 'model.layers.0.mlp.weight', shape: [64, 48] }];
  let expected: Map<string, { values: Float32Array }>;
  let models: string;
  const errors: Record<string, number> = {};

  beforeAll(async () => {
    expected = await readAll(path.join(PEER_FIXTURES, 'merges/peft_merge_utils.safetensors'));
    const weights = Array.from((expected.get('weights') as { values: Float32Array }).values);
    await writeSplitModel(path.join(root, 'zero'), PART, new Float32Array(64 * 48));
    for (let i = 0; i < 4; i++) await writeSplitModel(path.join(root, `t${i}`), PART, (expected.get(`task.${i}`) as { values: Float32Array }).values);
    // The fixture's float32 weights print exactly as their double values.
    models = weights.map((w, i) => `  - {model: t${i}, parameters: {weight: ${w}, DENSITY}}`).join('\n');
  });
  afterAll(() => process.stdout.write(`peft semantics through executeMerge, max abs errors: ${JSON.stringify(errors)}\n`));

  const check = async (name: string, yaml: string) => {
    await run(yaml, name);
    errors[name] = maxAbsDiff(await readSplitModel(path.join(root, name), PART), (expected.get(name) as { values: Float32Array }).values);
    expect(errors[name]).toBeLessThanOrEqual(1e-6);
  };

  it('task_arithmetic', () => check('task_arithmetic', `merge_method: task_arithmetic\nbase_model: zero\nmodels:\n${models.replaceAll(', DENSITY', '')}\nparameters: {semantics: peft}\n`));
  it.each([0.2, 0.5])('magnitude_prune density %s', (d) =>
    check(`magnitude_prune.d${d}`, `merge_method: magnitude_prune\nbase_model: zero\nmodels:\n${models.replaceAll('DENSITY', `density: ${d}`)}\nparameters: {semantics: peft}\n`),
  );
  it.each([
    [0.2, 'total'],
    [0.2, 'frequency'],
    [0.5, 'total'],
    [0.5, 'frequency'],
  ])('ties density %s by %s', (d, method) =>
    check(`ties.d${d}.${method}`, `merge_method: ties\nbase_model: zero\nmodels:\n${models.replaceAll('DENSITY', `density: ${d}`)}\nparameters: {semantics: peft, majority_sign_method: ${method}}\n`),
  );

  it('refuses mergekit-only parameters under semantics peft before reading tensors', async () => {
    await expect(run(`merge_method: ties\nbase_model: zero\nmodels:\n${models.replaceAll('DENSITY', 'density: 0.5')}\nparameters: {semantics: peft, normalize: true}\n`, 'bad')).rejects.toThrow(
      /normalize has no meaning under semantics: peft/,
    );
  });
});

describe('mergekit-style recipes', () => {
  const PARTS: TensorPart[] = [
    { name: 'model.embed.weight', shape: [6] },
    { name: 'model.layers.0.self_attn.q.weight', shape: [2, 3] },
    { name: 'model.layers.0.mlp.up.weight', shape: [2, 3] },
    { name: 'model.layers.1.self_attn.q.weight', shape: [2, 3] },
    { name: 'model.layers.1.mlp.up.weight', shape: [2, 3] },
  ];

  it('slerp with the base listed among the models and a filtered gradient for t', async () => {
    const rng = new SeededRandom(4);
    const a = rng.fillGaussian(new Float32Array(30));
    const b = rng.fillGaussian(new Float32Array(30));
    await writeSplitModel(path.join(root, 'sa'), PARTS, a);
    await writeSplitModel(path.join(root, 'sb'), PARTS, b);
    const plan = await run(
      [
        'merge_method: slerp',
        'base_model: sa',
        'models:',
        '  - model: sa',
        '  - model: sb',
        'parameters:',
        '  t:',
        '    - {filter: self_attn, value: [0, 1]}',
        '    - {filter: mlp, value: [1, 0]}',
        '    - value: 0.5',
      ].join('\n'),
      'slerp',
    );
    expect(plan.warnings).toContain('models[0] is the base model; it takes part as the base only');
    const out = await readSplitModel(path.join(root, 'slerp'), PARTS);
    const ts = [0.5, 0, 1, 1, 0];
    let offset = 0;
    for (const [i, part] of PARTS.entries()) {
      const n = part.shape.reduce((x, y) => x * y, 1);
      const expected = slerpVectors(ts[i], a.slice(offset, offset + n), b.slice(offset, offset + n));
      expect(maxAbsDiff(out.slice(offset, offset + n), expected)).toBe(0);
      offset += n;
    }
  });

  it('dare_ties is reproducible run to run and applies a per-layer density gradient', async () => {
    const rng = new SeededRandom(8);
    const base = rng.fillGaussian(new Float32Array(30));
    await writeSplitModel(path.join(root, 'db'), PARTS, base);
    for (const name of ['d1', 'd2']) await writeSplitModel(path.join(root, name), PARTS, base.map((x) => x + rng.nextGaussian()));
    const yaml = `merge_method: dare_ties\nbase_model: db\nmodels:\n  - {model: d1, parameters: {weight: 1, density: [1, 0.0001]}}\n  - {model: d2, parameters: {weight: 1, density: [1, 0.0001]}}\nparameters: {seed: 3, rescale: false}\n`;
    await run(yaml, 'dare1');
    await run(yaml, 'dare2');
    const one = await fs.readFile(path.join(root, 'dare1', 'model.safetensors'));
    expect(one.equals(await fs.readFile(path.join(root, 'dare2', 'model.safetensors')))).toBe(true);
    const out = await readSplitModel(path.join(root, 'dare1'), PARTS);
    // Layer 1 sits at t = 1 of the gradient (density 1e-4): its task vectors are dropped, leaving the base.
    expect(Array.from(out.slice(18))).toEqual(Array.from(base.slice(18)));
    expect(maxAbsDiff(out.slice(0, 18), base.slice(0, 18))).toBeGreaterThan(0.1);
  });
});
