import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { createTokenizer, loadTokenizer } from './load';
import { bpeJson, wordPieceJson } from './testing/build-json';

async function rejection(promise: Promise<unknown>): Promise<PatchworkError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PatchworkError);
  return error as PatchworkError;
}

describe('compatibility fixes take effect through createTokenizer', () => {
  it('Whitespace pre-tokenizer and Lowercase normalizer follow the Rust library', async () => {
    const json = wordPieceJson(['café', 'οδοσ', ','], { normalizer: { type: 'Lowercase' } });
    const tokenizer = await createTokenizer(json);
    expect(tokenizer.encode('Café, ΟΔΟΣ').tokens).toEqual(['café', ',', 'οδοσ']);
  });

  it('BPE fuses consecutive unknown characters when fuse_unk is set', async () => {
    const vocab = ['<unk>', 'a', 'b'];
    const fused = await createTokenizer(bpeJson(vocab, [], { unk_token: '<unk>', fuse_unk: true }));
    const unfused = await createTokenizer(bpeJson(vocab, [], { unk_token: '<unk>' }));
    expect(fused.encode('axyb').tokens).toEqual(['a', '<unk>', 'b']);
    expect(unfused.encode('axyb').tokens).toEqual(['a', '<unk>', '<unk>', 'b']);
  });

  it('Split honours MergedWithPrevious and Digits groups any Unicode digits', async () => {
    const vocab = ['a', 'b', '-', 'a-', '1', '٢', '1٢'];
    const split = await createTokenizer(
      bpeJson(vocab, [['a', '-']], {}, { pre_tokenizer: { type: 'Split', pattern: { String: '-' }, behavior: 'MergedWithPrevious', invert: false } }),
    );
    expect(split.encode('a-b').tokens).toEqual(['a-', 'b']);
    const digits = await createTokenizer(
      bpeJson(vocab, [['1', '٢']], {}, { pre_tokenizer: { type: 'Digits', individual_digits: false } }),
    );
    expect(digits.encode('a1٢b').tokens).toEqual(['a', '1٢', 'b']);
  });
});

describe('loadTokenizer errors', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'patchwork-tokenizers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, content: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, content);
    return file;
  };

  it('reports a missing path as NOT_FOUND', async () => {
    expect((await rejection(loadTokenizer(path.join(dir, 'nope')))).code).toBe('NOT_FOUND');
  });

  it('reports malformed JSON and structure as INVALID_ARGUMENT naming the field', async () => {
    expect((await rejection(loadTokenizer(write('broken.json', '{"model": ')))).message).toMatch(/not valid JSON/);
    const noMerges = bpeJson(['a'], []) as { model: Record<string, unknown> };
    delete noMerges.model.merges;
    const error = await rejection(createTokenizer(noMerges));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.violations.map((v) => v.field)).toContain('model.merges');
  });

  it('refuses components it cannot reproduce with UNIMPLEMENTED', async () => {
    const wordLevel = { model: { type: 'WordLevel', vocab: { a: 0 }, unk_token: 'a' } };
    expect((await rejection(createTokenizer(wordLevel))).code).toBe('UNIMPLEMENTED');
    const prefixed = bpeJson(['a'], [], { continuing_subword_prefix: '##' });
    expect((await rejection(createTokenizer(prefixed))).message).toMatch(/continuing_subword_prefix/);
    const scripts = bpeJson(['a'], [], {}, { pre_tokenizer: { type: 'UnicodeScripts' } });
    expect((await rejection(createTokenizer(scripts))).code).toBe('UNIMPLEMENTED');
  });

  it('reads special-token roles from tokenizer_config.json beside tokenizer.json', async () => {
    const sub = mkdtempSync(path.join(dir, 'cfg-'));
    writeFileSync(path.join(sub, 'tokenizer.json'), JSON.stringify(bpeJson(['a', 'b', 'z'], [])));
    writeFileSync(path.join(sub, 'tokenizer_config.json'), JSON.stringify({ pad_token: { content: 'z' }, eos_token: 'b' }));
    const tokenizer = await loadTokenizer(sub);
    expect(tokenizer.specialTokens.pad).toEqual({ token: 'z', id: 2 });
    expect(tokenizer.specialTokens.eos).toEqual({ token: 'b', id: 1 });
    const overridden = await loadTokenizer(sub, { specialTokens: { pad: 'a' } });
    expect(overridden.specialTokens.pad).toEqual({ token: 'a', id: 0 });
    expect((await rejection(loadTokenizer(sub, { specialTokens: { pad: 'missing' } }))).code).toBe('INVALID_ARGUMENT');
  });
});
