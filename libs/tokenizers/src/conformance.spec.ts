import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadTokenizer } from './load';
import { PEER_NAMES, PEER_TOKENIZERS, type PeerCase } from './testing/fixtures';
import type { Tokenizer } from './types';

// Reference encodings written by the Python `tokenizers` 0.23 library (see fixtures/README.md).
describe.each(PEER_NAMES)('conformance with the Python library: %s', (name) => {
  const dir = path.join(PEER_TOKENIZERS, name);
  const cases = JSON.parse(readFileSync(path.join(dir, 'encodings.json'), 'utf8')) as PeerCase[];
  let tokenizer: Tokenizer;

  beforeAll(async () => {
    tokenizer = await loadTokenizer(dir);
  });

  it.each(cases.map((c) => [JSON.stringify(c.pair === undefined ? c.text : [c.text, c.pair]), c] as const))(
    'reproduces ids, tokens and type ids of %s',
    (_label, c) => {
      const encoding = tokenizer.encode(c.text, c.pair);
      expect(encoding.tokens).toEqual(c.tokens);
      expect(encoding.ids).toEqual(c.ids);
      expect(encoding.attentionMask).toEqual(c.ids.map(() => 1));
      if (c.type_ids) expect(encoding.typeIds).toEqual(c.type_ids);
    },
  );

  it('decodes with special tokens skipped as the Python library does', () => {
    for (const c of cases.filter((x) => x.decoded !== undefined)) {
      expect(tokenizer.decode(c.ids, { skipSpecialTokens: true })).toBe(c.decoded);
    }
  });

  it('loads from the tokenizer.json path as from its directory', async () => {
    const fromFile = await loadTokenizer(path.join(dir, 'tokenizer.json'));
    expect(fromFile.encode(cases[0].text).ids).toEqual(cases[0].ids);
    expect(fromFile.vocabSize).toBe(tokenizer.vocabSize);
  });
});
