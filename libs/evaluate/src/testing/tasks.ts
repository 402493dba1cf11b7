import * as path from 'node:path';
import { type Tokenizer, loadTokenizer } from '@patchwork/tokenizers';
import { parseTaskConfig } from '../tasks/parse-task-config';
import { PEER_TOKENIZERS } from './tiny-models';

/** Few bootstrap replicates keep tests fast; lm-eval's 100000 is the default elsewhere. */
export const BOOT = { bootstrapIters: 1000 };

export const argmaxRows = (rows: number[][]): number[] => rows.map((r) => r.indexOf(Math.max(...r)));

export const loadBpe = (): Promise<Tokenizer> => loadTokenizer(path.join(PEER_TOKENIZERS, 'bpe-bytelevel'));
export const loadWordpiece = (): Promise<Tokenizer> => loadTokenizer(path.join(PEER_TOKENIZERS, 'wordpiece'));

/** Zero-shot "does the line contain a comma?" for a causal LM over `commaDocs`. */
export const COMMA_MC = parseTaskConfig({
  task: 'comma_mc',
  dataset: 'spam',
  output_type: 'multiple_choice',
  doc_to_text: '{{text}}\nQuestion: plain or comma?\nAnswer:',
  metric_list: [{ metric: 'acc' }, { metric: 'acc_norm' }, { metric: 'f1_macro' }, { metric: 'mcc' }, { metric: 'exact_match' }],
});
