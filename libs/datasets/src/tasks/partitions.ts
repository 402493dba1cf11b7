import { loadDigits } from '../sources/digits';
import { loadMobyDick } from '../sources/moby-dick';
import { loadSotu } from '../sources/sotu';
import { loadSpamAssassin } from '../sources/spam-assassin';
import { resolveSplitOptions, stratifiedSplit, type IndexSplits, type SplitOptions } from '../split';

export type PartitionedSource = 'digits' | 'spam-assassin' | 'sotu' | 'moby-dick';

/**
 * What each source is stratified by. Every task and text corpus drawn from a source uses the one
 * partition of that source (for a given seed and fractions), so an example held out by one task is
 * held out by all of them: a language model pre-trained on the train split of `spam-ham` never sees
 * the test mails of `spam`, and a merge of digit tasks is evaluated on images none of them saw.
 */
function strata(source: PartitionedSource): (string | number)[] {
  switch (source) {
    case 'digits':
      return Array.from(loadDigits().labels);
    case 'spam-assassin':
      return loadSpamAssassin().map((m) => m.group);
    case 'sotu':
      // Party and century together, so both SOTU tasks are balanced across splits.
      return loadSotu().map((s) => `${s.party}|${Math.floor(s.year / 100)}`);
    case 'moby-dick':
      return loadMobyDick().map(() => 0);
  }
}

/**
 * Duplicate keys: the SpamAssassin corpus holds the same mail several times (98 groups of
 * identical normalized text, more with identical bodies under different subjects), often across
 * its easy-ham-1 and easy-ham-2 folders. Identical bodies are kept in one split so that no test mail
 * is also a training mail. The other sources have no duplicates.
 */
function duplicateKeys(source: PartitionedSource): string[] | undefined {
  if (source !== 'spam-assassin') return undefined;
  return loadSpamAssassin().map((m) => (m.body !== '' ? `body:${m.body}` : `text:${m.text}`));
}

const cache = new Map<string, IndexSplits>();

export function sourcePartition(source: PartitionedSource, options: SplitOptions): IndexSplits {
  const { seed, fractions } = resolveSplitOptions(options);
  const key = `${source}|${seed}|${fractions.train}|${fractions.validation}|${fractions.test}`;
  let splits = cache.get(key);
  if (!splits) {
    splits = stratifiedSplit(strata(source), { seed, fractions }, source, duplicateKeys(source));
    cache.set(key, splits);
  }
  return splits;
}
