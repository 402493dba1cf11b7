import { ViolationCollector } from '@patchwork/errors';
import { ties } from '../methods/ties';
import { slerp } from '../methods/slerp';
import { interpolateGradient, layerIndexOf, layerPositions } from './layer-position';
import { parseMergeYaml } from './parse-yaml';
import { resolveParameters } from './resolve-parameters';

describe('layer positions and gradients', () => {
  it('finds the layer index as the first numeric path component', () => {
    expect(layerIndexOf('model.layers.12.mlp.up_proj.weight')).toBe(12);
    expect(layerIndexOf('transformer.h.3.attn.c_attn.weight')).toBe(3);
    expect(layerIndexOf('model.embed_tokens.weight')).toBeUndefined();
    const t = layerPositions(['model.embed_tokens.weight', 'model.layers.0.w', 'model.layers.2.w', 'model.layers.4.w']);
    expect([...t.values()]).toEqual([0, 0, 0.5, 1]);
  });

  it('interpolates like mergekit', () => {
    expect(interpolateGradient([1, 0.7, 0.1], 0)).toBe(1);
    expect(interpolateGradient([1, 0.7, 0.1], 0.25)).toBeCloseTo(0.85, 12);
    expect(interpolateGradient([1, 0.7, 0.1], 1)).toBeCloseTo(0.1, 12);
    expect(interpolateGradient([5], 0.3)).toBe(5);
  });
});

describe('parseMergeYaml settings', () => {
  it('puts words, gradients and filter lists into settings, numbers and booleans into parameters', () => {
    const config = parseMergeYaml(
      [
        'merge_method: slerp',
        'base_model: a',
        'models:',
        '  - model: a',
        '  - model: b',
        '    parameters: {density: [1, 0.5], weight: 0.3}',
        'parameters:',
        '  t:',
        '    - filter: self_attn',
        '      value: [0, 0.5, 0.3, 0.7, 1]',
        '    - filter: mlp',
        '      value: [1, 0.5, 0.7, 0.3, 0]',
        '    - value: 0.5',
        '  semantics: peft',
        '  normalize: true',
      ].join('\n'),
      '/m',
    );
    expect(config.parameters).toEqual({ normalize: 1 });
    expect(config.settings).toEqual({
      t: [
        { filter: 'self_attn', value: [0, 0.5, 0.3, 0.7, 1] },
        { filter: 'mlp', value: [1, 0.5, 0.7, 0.3, 0] },
        { value: 0.5 },
      ],
      semantics: 'peft',
    });
    expect(config.models[1]).toEqual({ model: '/m/b', parameters: { weight: 0.3 }, settings: { density: [1, 0.5] } });
  });

  it('names malformed gradients and filter entries', () => {
    expect(() => parseMergeYaml('merge_method: ties\nmodels:\n  - {model: a, parameters: {density: [1, x]}}\n', '/')).toThrow(/models\[0\]\.parameters\.density\[1\]: a gradient holds finite numbers only/);
    expect(() => parseMergeYaml('merge_method: ties\nmodels:\n  - model: a\nparameters:\n  t: [{filtr: a, value: 1}]\n', '/')).toThrow(/parameters\.t\[0\]\.filtr: unknown key/);
    expect(() => parseMergeYaml('merge_method: ties\nmodels:\n  - model: a\nparameters:\n  t: [{filter: a}]\n', '/')).toThrow(/parameters\.t\[0\]\.value: must be/);
  });
});

describe('resolveParameters', () => {
  const names = ['model.embed.weight', 'model.layers.0.self_attn.q.weight', 'model.layers.1.mlp.up.weight', 'model.layers.2.self_attn.q.weight'];

  it('evaluates gradients per layer, first matching filter wins, model level over global over default', () => {
    const problems = new ViolationCollector();
    const table = resolveParameters(
      ties,
      [
        { field: 'models[0]', source: { parameters: { weight: 1 }, settings: { density: [1, 0] } } },
        { field: 'models[1]', source: { parameters: { weight: 2 } } },
      ],
      { parameters: {}, settings: { density: [{ filter: 'self_attn', value: 0.5 }, { filter: 'layers', value: [0.2, 0.4] }], semantics: 'peft' } },
      names,
      problems,
    );
    expect(problems.size).toBe(0);
    expect(table.choices).toEqual({ semantics: 'peft', majority_sign_method: 'total' });
    const density = (tensor: string, model: number) => table.byTensor.get(tensor)?.modelParameters[model]['density'];
    expect(names.map((n) => density(n, 0))).toEqual([1, 1, 0.5, 0]);
    // No filter matches the embedding, so the default (1) applies; layer 1 of 0..2 sits at t = 0.5.
    expect(names.map((n) => density(n, 1))).toEqual([1, 0.5, 0.30000000000000004, 0.5]);
    expect(table.byTensor.get(names[0])?.parameters['lambda']).toBe(1);
  });

  it('collects every problem with its path: unknown names, bad words, ranges, unmatched required values', () => {
    const problems = new ViolationCollector();
    resolveParameters(
      slerp,
      [{ field: 'models[0]', source: { parameters: { weight: 1 } } }],
      { parameters: {}, settings: { t: [{ filter: 'self_attn', value: [0, 2] }] } },
      names,
      problems,
    );
    expect(() => problems.throwIfAny()).toThrow(/models\[0\]\.parameters\.weight: not a parameter of slerp.*parameters\.t: must be within \[0, 1\] \(got 2 in the list\)/);
    const more = new ViolationCollector();
    resolveParameters(ties, [{ field: 'models[0]', source: { parameters: { weight: 1 } } }], { parameters: {}, settings: { semantics: 'mergekitt', density: 'high' } }, names, more);
    expect(() => more.throwIfAny()).toThrow(/parameters\.semantics: must be one of mergekit, peft, paper.*parameters\.density: must be a number/);
    const unmatched = new ViolationCollector();
    resolveParameters(slerp, [{ field: 'models[0]', source: { parameters: {} } }], { parameters: {}, settings: { t: [{ filter: 'self_attn', value: 0.5 }] } }, names, unmatched);
    expect(() => unmatched.throwIfAny()).toThrow(/parameters\.t: required by slerp: .* \(no filter entry matches model\.embed\.weight, model\.layers\.1\.mlp\.up\.weight\)/);
  });
});
