import { invalidArgument } from '@patchwork/errors';
import { endOfTextId, rollingWindows } from '../lm/requests';
import { scoreRequests } from '../lm/score';
import { countBytes, countWords } from '../lm/text-units';
import type { EvalDoc } from '../tasks/docs';
import { fieldsOf } from '../tasks/docs';
import { renderTemplate } from '../tasks/template';
import { resolveMaxLength, vocabSize } from './evaluable';
import { type LmRunnerOptions, requireTokenizer } from './multiple-choice';
import type { DocOutcome } from './outcome';

/**
 * lm-eval's loglikelihood_rolling: the whole text (doc_to_target) is scored in disjoint
 * max-length windows, the first conditioned on the end-of-text token; the document's items are
 * its summed log-likelihood with its token, word and UTF-8 byte counts.
 */
export function rollingRunner(options: LmRunnerOptions): (batch: readonly EvalDoc[], firstDocId: number) => DocOutcome[] {
  const { model, forward, config, docs, batchSize } = options;
  const tokenizer = requireTokenizer(options.tokenizer, config.task);
  const maxLength = resolveMaxLength(model, config.max_length);
  const prefix = endOfTextId(tokenizer);
  const vocab = vocabSize(model);
  return (batch, firstDocId) => {
    const perDoc = batch.map((doc, i) => {
      const text = renderTemplate(config.doc_to_target, fieldsOf(doc, docs.labelNames));
      const tokens = tokenizer.encode(text, undefined, { addSpecialTokens: false }).ids;
      if (tokens.length === 0) throw invalidArgument(`doc ${firstDocId + i} (${doc.id}).text`, 'is empty; a perplexity needs at least one token');
      return { text, tokens, windows: rollingWindows(tokens, prefix, maxLength) };
    });
    const scored = scoreRequests(
      forward,
      perDoc.flatMap((d) => d.windows),
      { maxLength, batchSize, vocabSize: vocab },
    );
    let at = 0;
    return perDoc.map((d) => {
      let ll = 0;
      for (const r of scored.slice(at, at + d.windows.length)) ll += r.loglikelihood;
      at += d.windows.length;
      return {
        scored: { outputType: 'loglikelihood_rolling', loglikelihood: ll, tokens: d.tokens.length, words: countWords(d.text), bytes: countBytes(d.text) },
        target: d.text,
        prompt: d.text,
        arguments: { gen_args_0: { arg_0: d.text } },
        resps: [[ll]],
        filteredResps: [ll],
        pred: null,
        predLabel: null,
      };
    });
  };
}
