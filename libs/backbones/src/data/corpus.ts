import { textCorpus } from '@patchwork/datasets';
import type { CorpusRef } from '../recipes/recipes';

/**
 * The documents of `refs`, in order: each corpus split in the seeded order @patchwork/datasets
 * gives, taken until its character budget is spent (the last document is cut at the budget).
 */
export function readCorpora(refs: readonly CorpusRef[], dataSeed: number): string[] {
  const out: string[] = [];
  for (const ref of refs) {
    let left = ref.maxChars;
    for (const doc of textCorpus(ref.corpus, { split: ref.split, seed: dataSeed })) {
      if (left <= 0) break;
      out.push(doc.length <= left ? doc : doc.slice(0, left));
      left -= doc.length;
    }
  }
  return out;
}
