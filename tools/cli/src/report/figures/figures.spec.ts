import { lifecycleFixture } from '../testing/lifecycle-fixture';
import { findAll, parseXml, textContent } from '../testing/xml';
import { compatibilityFigure, outcomes } from './compatibility-figure';
import { sharedModulePrefix } from './compress-figure';
import { fineTunedAccuracy, mergePerTaskFigure, mergeTasks } from './merge-figures';
import { artifactLabel, fractionOf, retrievalFigure } from './retrieval-figure';

describe('compatibility outcomes', () => {
  const base = lifecycleFixture().evaluation.compatibility;

  it('splits the samples into four outcomes that add up to one', () => {
    const o = outcomes(base);
    expect(o).toBeDefined();
    const { bothCorrect, negativeFlips, positiveFlips, bothWrong } = o!;
    expect(bothCorrect).toBeCloseTo(0.902 - 0.018, 12);
    expect(bothWrong).toBeCloseTo(1 - 0.902 - 0.047, 12);
    expect(bothCorrect + negativeFlips + positiveFlips + bothWrong).toBeCloseTo(1, 12);
  });

  it('refuses rates that do not add up, and missing ones', () => {
    expect(outcomes({ ...base, newAccuracy: 0.5 })).toBeUndefined();
    expect(outcomes({ ...base, negativeFlipRate: 0.95 })).toBeUndefined();
    expect(outcomes({ ...base, oldAccuracy: NaN })).toBeUndefined();
  });

  it('says so in the figure instead of drawing a breakdown that cannot be right', () => {
    const svg = compatibilityFigure({ ...lifecycleFixture().evaluation, compatibility: { ...base, newAccuracy: 0.5 } }).svg;
    expect(textContent(parseXml(svg))).toContain('do not add up');
  });
});

describe('compress figure helpers', () => {
  it('finds the shared module path, keeping the name a layer index belongs to', () => {
    expect(sharedModulePrefix(['bert.encoder.layer.0.attention.self.query', 'bert.encoder.layer.1.output.dense'])).toBe('bert.encoder.');
    expect(sharedModulePrefix(['h.0.attn.c_attn', 'h.0.mlp.c_fc'])).toBe('h.0.');
    expect(sharedModulePrefix(['a.b', 'a.b'])).toBe('a.');
    expect(sharedModulePrefix(['only.one'])).toBe('');
    expect(sharedModulePrefix(['x.y', 'z.y'])).toBe('');
  });
});

describe('merge and retrieval helpers', () => {
  const result = lifecycleFixture();

  it('lists tasks in first-seen order and finds each task\u2019s fine-tuned accuracy', () => {
    expect(mergeTasks(result.merge)).toEqual(['spam', 'sotu-party']);
    expect(fineTunedAccuracy(result.training, 'spam')).toBe(0.946);
    expect(fineTunedAccuracy(result.training, 'unknown')).toBeUndefined();
  });

  it('adds the fine-tuned reference as its own series', () => {
    const root = parseXml(mergePerTaskFigure(result.merge, result.training).svg);
    expect(findAll(root, 'text').map(textContent)).toContain('fine-tuned (each task alone)');
  });

  it('names routed artifacts by task, then merge, then short digest', () => {
    expect(artifactLabel(result, result.training[0].digest)).toBe('spam adapter');
    expect(artifactLabel(result, result.merge.digest)).toBe('merged (pcb)');
    expect(artifactLabel(result, `sha256:${'f'.repeat(64)}`)).toBe('ffffffffffff');
  });

  it('turns counts into fractions only when there is a total', () => {
    expect(fractionOf(3, 4)).toBe(0.75);
    expect(fractionOf(0, 0)).toBeUndefined();
    expect(fractionOf(NaN, 4)).toBeUndefined();
  });

  it('draws retrieval with no inputs and no routes', () => {
    const svg = retrievalFigure({ ...result, retrieval: { ...result.retrieval, inputs: 0, routedCorrectly: 0, predictedCorrectly: 0, routes: {} } }).svg;
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(textContent(parseXml(svg))).toContain('No routes were recorded.');
  });
});
