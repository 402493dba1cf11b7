import { type Model, loadModel } from '@patchwork/models';
import { initBackend } from '@patchwork/tensor';
import { peerModelDir } from '../testing/fixtures';
import { compileGlobs, selectModules } from './select-modules';

describe('selectModules', () => {
  let vit: Model;
  let roberta: Model;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    [vit, roberta] = await Promise.all([loadModel(peerModelDir('vit')), loadModel(peerModelDir('roberta'))]);
  });
  afterAll(() => [vit, roberta].forEach((m) => m.dispose()));

  it('keeps heads, pooler and patch embedding dense by default', () => {
    expect(selectModules(vit).skipped).toEqual([
      { module: 'vit.embeddings.patch_embeddings.projection', reason: 'excluded' },
      { module: 'classifier', reason: 'excluded' },
    ]);
    expect(selectModules(roberta).skipped.map((s) => s.module)).toEqual(['classifier.dense', 'classifier.out_proj']);
    expect(selectModules(vit).eligible).toHaveLength(12);
  });

  it('matches globs against either spelling of a module, and applies the output-size floor', () => {
    const { skipped } = selectModules(vit, { exclude: ['vit.layers.*.attention.q_proj'], minOutFeatures: 6 });
    expect(skipped).toEqual([
      { module: 'vit.encoder.layer.0.attention.attention.query', reason: 'excluded' },
      { module: 'vit.encoder.layer.1.attention.attention.query', reason: 'excluded' },
      { module: 'classifier', reason: 'too-small' },
    ]);
  });

  it('compiles * as any run of characters, everything else literally', () => {
    const [g] = compileGlobs(['a.*.c(d)'], 'exclude');
    expect(g.test('a.b.x.c(d)')).toBe(true);
    expect(g.test('a.b.cXdX')).toBe(false);
    expect(() => compileGlobs('lm_head', 'exclude')).toThrow(/exclude: must be an array/);
    expect(() => selectModules(vit, { minOutFeatures: 0 })).toThrow(/minOutFeatures/);
  });
});
