import { PatchworkError } from '@patchwork/errors';
import type { Tokenizer } from '@patchwork/tokenizers';
import { encodePair, type TokenRequest } from '../lm/requests';
import { type ForwardFn, scoreRequests } from '../lm/score';
import { argmax } from '../stats/argmax';
import type { EvalDoc, TaskDocs } from '../tasks/docs';
import type { TaskConfig } from '../tasks/task-config';
import { type EvaluableModel, resolveMaxLength, vocabSize } from './evaluable';
import type { DocOutcome } from './outcome';
import { choicesOf, goldIndexOf, promptOf } from './templates';

export interface LmRunnerOptions {
  readonly model: EvaluableModel;
  readonly forward: ForwardFn;
  readonly config: TaskConfig;
  readonly docs: TaskDocs;
  readonly tokenizer?: Tokenizer;
  /** Sequences per forward pass. */
  readonly batchSize: number;
}

export function requireTokenizer(tokenizer: Tokenizer | undefined, task: string): Tokenizer {
  if (tokenizer === undefined) throw new PatchworkError('INVALID_ARGUMENT', `tokenizer: task ${task} scores text with a language model and needs its tokenizer`);
  return tokenizer;
}

/**
 * lm-eval's multiple_choice: one loglikelihood request per choice, the continuation being
 * target_delimiter + choice after the prompt; the prediction is the first argmax.
 */
export function multipleChoiceRunner(options: LmRunnerOptions): (batch: readonly EvalDoc[], firstDocId: number) => DocOutcome[] {
  const { model, forward, config, docs, batchSize } = options;
  const tokenizer = requireTokenizer(options.tokenizer, config.task);
  const maxLength = resolveMaxLength(model, config.max_length);
  const vocab = vocabSize(model);
  return (batch, firstDocId) => {
    const perDoc = batch.map((doc, i) => {
      const prompt = promptOf(config, doc, docs.labelNames);
      const choices = choicesOf(config, doc, docs.labelNames, firstDocId + i);
      const gold = goldIndexOf(config, doc, docs.labelNames, choices, firstDocId + i);
      const continuations = choices.map((c) => config.target_delimiter + c);
      const requests: TokenRequest[] = continuations.map((c) => encodePair(tokenizer, prompt, c));
      return { prompt, choices, gold, continuations, requests };
    });
    const scored = scoreRequests(
      forward,
      perDoc.flatMap((d) => d.requests),
      { maxLength, batchSize, vocabSize: vocab },
    );
    let at = 0;
    return perDoc.map((d) => {
      const results = scored.slice(at, at + d.requests.length);
      at += d.requests.length;
      const lls = results.map((r) => r.loglikelihood);
      const pred = argmax(lls);
      return {
        scored: { outputType: 'multiple_choice', gold: d.gold, pred, loglikelihoods: lls, greedy: results.map((r) => r.isGreedy), choices: d.choices },
        target: d.gold,
        prompt: d.prompt,
        arguments: Object.fromEntries(d.continuations.map((c, i) => [`gen_args_${i}`, { arg_0: d.prompt, arg_1: c }])),
        resps: results.map((r) => [[r.loglikelihood, r.isGreedy]]),
        filteredResps: results.map((r) => [r.loglikelihood, r.isGreedy]),
        pred,
        predLabel: d.choices[pred],
      };
    });
  };
}
