import { PatchworkError } from '@patchwork/errors';
import { assertNoLeaks, initBackend, tf } from '@patchwork/tensor';
import { tinyGpt2 } from '../testing/tiny-models';
import { generate } from './generate';

const VOCAB = 40;

/** Next-token logits after `ids`, from one unpadded forward of the whole sequence. */
function directLogits(model: ReturnType<typeof tinyGpt2>, ids: readonly number[]): number[] {
  return tf.tidy(() => {
    const { logits } = model.forward({ inputIds: tf.tensor2d([[...ids]], undefined, 'int32') });
    return (logits.arraySync() as number[][][])[0][ids.length - 1];
  });
}

const argmax = (xs: number[]) => xs.reduce((best, x, i) => (x > xs[best] ? i : best), 0);

/** Greedy decoding one row at a time, each step conditioned on the last `window` tokens. */
function referenceGreedy(model: ReturnType<typeof tinyGpt2>, prompt: number[], steps: number, window: number): number[] {
  const seq = [...prompt];
  for (let s = 0; s < steps; s++) seq.push(argmax(directLogits(model, seq.slice(-window))));
  return seq.slice(prompt.length);
}

function codeOf(fn: () => unknown): { code: string; fields: string[] } {
  try {
    fn();
  } catch (e) {
    const err = PatchworkError.from(e);
    return { code: err.code, fields: (err.violations ?? []).map((v) => v.field) };
  }
  throw new Error('expected an error');
}

describe('generate', () => {
  let model: ReturnType<typeof tinyGpt2>;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    model = tinyGpt2(VOCAB, 12, 3);
  });
  afterAll(() => model.dispose());

  const prompts = [[1, 2, 3], [7], [5, 9, 11, 13, 2], [30, 31]];

  it('greedy: every row equals unbatched decoding of that prompt alone, across ragged right-padded batches, with no tensor left behind', async () => {
    const out = await assertNoLeaks(() => generate({ model, prompts, maxNewTokens: 6, batchSize: 3 }));
    out.forEach((g, i) => {
      expect(g.stopped).toBe(false);
      expect(g.tokens).toEqual(referenceGreedy(model, prompts[i], 6, 12));
    });
  });

  it('slides the window: past maxLength each step sees only the last maxLength tokens', () => {
    const out = generate({ model, prompts, maxNewTokens: 5, maxLength: 4 });
    out.forEach((g, i) => expect(g.tokens).toEqual(referenceGreedy(model, prompts[i], 5, 4)));
    // Beyond the model's positions the window keeps generation going.
    expect(generate({ model, prompts: [[1, 2, 3]], maxNewTokens: 15 })[0].tokens).toHaveLength(15);
  });

  it('top-k = 1 is greedy, and a stop token ends only its row', () => {
    const greedy = generate({ model, prompts, maxNewTokens: 4 });
    expect(generate({ model, prompts, maxNewTokens: 4, topK: 1, seed: 9 })).toEqual(greedy);
    const stop = greedy[1].tokens[0];
    const stopped = generate({ model, prompts, maxNewTokens: 4, stopTokens: [stop] });
    stopped.forEach((g, i) => {
      const cut = greedy[i].tokens.indexOf(stop);
      expect(g.tokens).toEqual(cut < 0 ? greedy[i].tokens : greedy[i].tokens.slice(0, cut + 1));
      expect(g.stopped).toBe(cut >= 0);
    });
    expect(stopped[1]).toEqual({ tokens: [stop], stopped: true });
  });

  it('top-k: seeded, the same for any batch size, different across seeds, and only ever one of the k most likely tokens', () => {
    const run = (seed: number, batchSize: number) => generate({ model, prompts, maxNewTokens: 8, topK: 3, temperature: 2, seed, batchSize });
    const a = run(5, 1);
    expect(run(5, 4)).toEqual(a);
    expect(run(6, 2)).not.toEqual(a);
    a.forEach((g, i) => {
      const seq = [...prompts[i]];
      for (const t of g.tokens) {
        const logits = directLogits(model, seq.slice(-12));
        const third = [...logits].sort((x, y) => y - x)[2];
        expect(logits[t]).toBeGreaterThanOrEqual(third - 1e-5);
        seq.push(t);
      }
    });
  });

  it('top-k draws follow the softmax of the k largest logits / temperature', () => {
    const k = 4;
    const temperature = 1.5;
    const n = 3000;
    const prompt = [2, 4, 6];
    const draws = generate({ model, prompts: Array.from({ length: n }, () => prompt), maxNewTokens: 1, topK: k, temperature, seed: 1, batchSize: 1000 });
    const logits = directLogits(model, prompt);
    const top = Array.from(logits.keys()).sort((x, y) => logits[y] - logits[x]).slice(0, k);
    const weights = top.map((id) => Math.exp(logits[id] / temperature));
    const total = weights.reduce((s, w) => s + w, 0);
    const counts = new Map<number, number>();
    for (const d of draws) counts.set(d.tokens[0], (counts.get(d.tokens[0]) ?? 0) + 1);
    expect([...counts.keys()].every((id) => top.includes(id))).toBe(true);
    top.forEach((id, j) => {
      const p = weights[j] / total;
      // Four binomial standard deviations.
      expect(Math.abs((counts.get(id) ?? 0) / n - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n) + 1e-9);
    });
  });

  it('names every bad field as INVALID_ARGUMENT', () => {
    expect(codeOf(() => generate({ model, prompts: [], maxNewTokens: 1 }))).toEqual({ code: 'INVALID_ARGUMENT', fields: ['prompts'] });
    expect(codeOf(() => generate({ model, prompts: [[1], [], [VOCAB]], maxNewTokens: 0, topK: 0, seed: -1, batchSize: 0 }))).toEqual({
      code: 'INVALID_ARGUMENT',
      fields: ['prompts[1]', 'prompts[2]', 'maxNewTokens', 'topK', 'seed', 'batchSize'],
    });
    expect(codeOf(() => generate({ model, prompts: [[1]], maxNewTokens: 1, temperature: 0.7 })).fields).toEqual(['temperature']);
    expect(codeOf(() => generate({ model, prompts: [[1]], maxNewTokens: 1, topK: 2, temperature: 0 })).fields).toEqual(['temperature']);
    expect(codeOf(() => generate({ model, prompts: [[1]], maxNewTokens: 1, maxLength: 13 })).fields).toEqual(['maxLength']);
  });
});
