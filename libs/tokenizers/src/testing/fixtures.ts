import * as path from 'node:path';

/** `<repo root>/../shared/fixtures/peer/tokenizers`, where CI lays the reference outputs. */
export const PEER_TOKENIZERS = path.resolve(__dirname, '../../../../../shared/fixtures/peer/tokenizers');

export const PEER_NAMES = ['bpe-bytelevel', 'wordpiece', 'metaspace-bytefallback'] as const;

export interface PeerCase {
  text: string;
  pair?: string;
  ids: number[];
  tokens: string[];
  type_ids?: number[];
  decoded?: string;
}
