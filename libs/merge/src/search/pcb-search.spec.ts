import { SeededRandom } from '@patchwork/tensor';
import { InMemoryModel, mergeInMemory } from '../merge-in-memory';
import { pcbMerge } from '../math/pcb';
import { searchCoefficients } from './coefficient-search';

function model(rng: SeededRandom, base?: InMemoryModel): InMemoryModel {
  const parts: [string, number[]][] = [
    ['layers.0.w', [8, 5]],
    ['layers.1.w', [30]],
  ];
  return new Map(
    parts.map(([name, shape]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const values = rng.fillGaussian(new Float32Array(n));
      const prior = base?.get(name)?.values;
      return [name, { shape, values: prior ? values.map((v, j) => prior[j] + 0.1 * v) : values }];
    }),
  );
}

describe('PCB coefficient search (in memory)', () => {
  const rng = new SeededRandom(21);
  const base = model(rng);
  const models = [model(rng, base), model(rng, base), model(rng, base)];
  const merge = (weights: number[]) =>
    mergeInMemory({ mergeMethod: 'pcb', base, models: models.map((m, i) => ({ model: m, parameters: { weight: weights[i] } })), parameters: { ratio: 0.3 } });

  it('mergeInMemory with scope model equals the flat authors\' function on the concatenated model', async () => {
    const merged = await merge([1, 1, 1]);
    const flat = (m: InMemoryModel) => Float32Array.from([...m.values()].flatMap((t) => Array.from(t.values)));
    const b = flat(base);
    const tasks = models.map((m) => flat(m).map((v, j) => v - b[j]));
    const expected = pcbMerge(tasks, { ratio: 0.3 }).merged;
    const got = Float32Array.from([...merged.values()].flatMap((t) => Array.from(t))).map((v, j) => v - b[j]);
    got.forEach((v, j) => expect(Math.abs(v - expected[j])).toBeLessThanOrEqual(1e-6));
  });

  it('recovers the per-model lambdas that produced a target model', async () => {
    const truth = [0.9, 1.2, 1.05];
    const target = await merge(truth);
    const score = async (lambdas: number[]) => {
      const merged = await merge(lambdas);
      let err = 0;
      for (const [name, values] of merged) {
        const t = target.get(name) as Float32Array;
        for (let j = 0; j < values.length; j++) err += (values[j] - t[j]) ** 2;
      }
      return -err;
    };
    const result = await searchCoefficients({ dimensions: 3, score, budget: 120, seed: 2 });
    result.best.forEach((v, i) => expect(Math.abs(v - truth[i])).toBeLessThan(0.01));
  });
});
