import { assertNoLeaks, initBackend, tf } from '@patchwork/tensor';
import type { Tokenizer } from '@patchwork/tokenizers';
import { loadTaskConfig } from '../tasks/load-task-config';
import { parseTaskConfig } from '../tasks/parse-task-config';
import { commaDocs } from '../testing/docs';
import { BOOT, COMMA_MC, loadBpe } from '../testing/tasks';
import { tinyBert, tinyGpt2 } from '../testing/tiny-models';
import { evaluate } from './evaluate';

let bpe: Tokenizer;
beforeAll(async () => {
  bpe = await loadBpe();
});

describe('language-model tasks (GPT-2)', () => {
  beforeAll(() => initBackend({ backend: 'wasm' }));

  /** Σ log p(continuation) from one unpadded forward over context ++ continuation. */
  function directLoglikelihood(model: ReturnType<typeof tinyGpt2>, context: number[], continuation: number[]): number {
    const ids = [...context, ...continuation];
    const logp = tf.tidy(() => tf.logSoftmax(model.forward({ inputIds: tf.tensor2d([ids.slice(0, -1)], undefined, 'int32') }).logits).arraySync() as number[][][]);
    let ll = 0;
    continuation.forEach((t, k) => {
      ll += logp[0][context.length - 1 + k][t];
    });
    return ll;
  }

  it('multiple choice: per-choice log-likelihoods, acc and acc_norm from them', async () => {
    const model = tinyGpt2(bpe.vocabSize, 64);
    const docs = commaDocs(6);
    const { samples, results } = await assertNoLeaks(() => evaluate({ model, task: COMMA_MC, docs, tokenizer: bpe, batchSize: 3, ...BOOT }));
    const enc = (s: string) => bpe.encode(s, undefined, { addSpecialTokens: false }).ids;
    samples.forEach((s, i) => {
      const ctx = `${docs.docs[i].text}\nQuestion: plain or comma?\nAnswer:`;
      const lls = (s.filtered_resps as [number, boolean][]).map((r) => r[0]);
      ['plain', 'comma'].forEach((choice, k) => {
        const whole = enc(`${ctx} ${choice}`);
        const context = enc(ctx);
        expect(lls[k]).toBeCloseTo(directLoglikelihood(model, context, whole.slice(context.length)), 4);
      });
      expect(s.arguments).toEqual({ gen_args_0: { arg_0: ctx, arg_1: ' plain' }, gen_args_1: { arg_0: ctx, arg_1: ' comma' } });
      const pred = lls[0] >= lls[1] ? 0 : 1;
      const predNorm = lls[0] / 5 >= lls[1] / 5 ? 0 : 1;
      expect(s.pred).toBe(pred);
      expect(s.acc).toBe(pred === s.target ? 1 : 0);
      expect(s.acc_norm).toBe(predNorm === s.target ? 1 : 0);
      expect(s.exact_match).toBe((s.filtered_resps as [number, boolean][])[s.target as number][1] ? 1 : 0);
    });
    expect(results.results.comma_mc['acc_norm,none']).toBe(samples.filter((s) => s.acc_norm === 1).length / 6);
    model.dispose();
  });

  it('rolling perplexity: every token scored once across windows, corpus-weighted aggregates', async () => {
    const model = tinyGpt2(bpe.vocabSize, 8);
    const docs = commaDocs(5);
    const task = parseTaskConfig({ task: 'lines_ppl', dataset: 'moby-dick', output_type: 'loglikelihood_rolling', metric_list: [{ metric: 'word_perplexity' }, { metric: 'byte_perplexity' }, { metric: 'bits_per_byte' }, { metric: 'token_perplexity' }] });
    const { samples, results } = await evaluate({ model, task, docs, tokenizer: bpe, batchSize: 4, ...BOOT });
    const eot = bpe.specialTokens.eos?.id as number;
    let sumLl = 0;
    let sumWords = 0;
    samples.forEach((s, i) => {
      const tokens = bpe.encode(docs.docs[i].text as string, undefined, { addSpecialTokens: false }).ids;
      // Independent: windows of 8 predicted tokens, each conditioned on the tokens right before it.
      let ll = 0;
      for (let at = 0; at < tokens.length; at += 8) {
        const piece = tokens.slice(at, at + 8);
        const before = [eot, ...tokens].slice(Math.max(0, at + piece.length - 8), at + 1);
        ll += directLoglikelihood(model, before.slice(0, before.length - 0), piece);
      }
      expect(s.filtered_resps as number[]).toHaveLength(1);
      expect((s.filtered_resps as number[])[0]).toBeCloseTo(ll, 3);
      expect(s.token_perplexity).toEqual([(s.filtered_resps as number[])[0], tokens.length]);
      const [sll, words] = s.word_perplexity as [number, number];
      sumLl += sll;
      sumWords += words;
      expect(s.pred).toBeNull();
      expect(s.target).toBe(docs.docs[i].text);
    });
    expect(results.results.lines_ppl['word_perplexity,none']).toBeCloseTo(Math.exp(-sumLl / sumWords), 10);
    expect(results.results.lines_ppl['bits_per_byte,none']).toBeCloseTo(Math.log2(results.results.lines_ppl['byte_perplexity,none'] as number), 10);
    model.dispose();
  });

  it('scores a real held-out corpus with a built-in config', async () => {
    const model = tinyGpt2(bpe.vocabSize, 64);
    const task = await loadTaskConfig('moby_dick_ppl');
    const { results, samples } = await evaluate({ model, task, tokenizer: bpe, limit: 1, batchSize: 16, ...BOOT });
    expect(samples).toHaveLength(1);
    const ppl = results.results.moby_dick_ppl['token_perplexity,none'] as number;
    // A random model is near-uniform over its 600-token vocabulary.
    expect(ppl).toBeGreaterThan(50);
    expect(ppl).toBeLessThan(5000);
    expect(results.results.moby_dick_ppl['word_perplexity_stderr,none']).toBe('N/A');
    model.dispose();
  });

  it('refuses a classifier for LM tasks and honours cancellation and progress', async () => {
    const bert = tinyBert(bpe.vocabSize, ['plain', 'comma']);
    await expect(evaluate({ model: bert, task: COMMA_MC, docs: commaDocs(2), tokenizer: bpe, batchSize: 2 })).rejects.toThrow(/causal language model/);
    bert.dispose();
    const model = tinyGpt2(bpe.vocabSize, 64);
    const controller = new AbortController();
    const seen: number[] = [];
    const run = evaluate({
      model,
      task: COMMA_MC,
      docs: commaDocs(8),
      tokenizer: bpe,
      batchSize: 2,
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p.done);
        if (p.done === 4) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(seen).toEqual([2, 4]);
    model.dispose();
  });
});
