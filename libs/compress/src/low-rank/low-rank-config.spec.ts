import { LOW_RANK_CONFIG_KEY, lowRankConfigToJson, parseLowRankConfig } from './low-rank-config';

describe('the patchwork_low_rank config entry', () => {
  const config = {
    gamma: 2.5,
    targetRatio: 0.6,
    svd: 'randomized' as const,
    distillation: { steps: 100, alpha: 1, beta: 0.5, eps: 0.001, taskWeight: 1 },
    modules: new Map([
      ['a.b', 3],
      ['c.d', 7],
    ]),
  };

  it('round-trips through JSON in snake_case', () => {
    const json = lowRankConfigToJson(config);
    expect(json).toEqual({
      format_version: 1,
      method: 'pela',
      gamma: 2.5,
      target_ratio: 0.6,
      svd: 'randomized',
      distillation: { steps: 100, alpha: 1, beta: 0.5, eps: 0.001, task_weight: 1 },
      modules: { 'a.b': 3, 'c.d': 7 },
    });
    expect(parseLowRankConfig(JSON.parse(JSON.stringify(json)), 'x')).toEqual(config);
    expect(parseLowRankConfig({ ...json, distillation: null }, 'x').distillation).toBeNull();
  });

  it('lists every problem at once, naming each field', () => {
    let error: unknown;
    try {
      parseLowRankConfig({ format_version: 2, method: 'svd', gamma: 0, svd: 'exact', distillation: { steps: -1 }, modules: { 'a.b': 0 } }, 'dir/config.json');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    const fields = (error as { violations: { field: string }[] }).violations.map((v) => v.field);
    expect(fields).toEqual([
      `${LOW_RANK_CONFIG_KEY}.format_version`,
      `${LOW_RANK_CONFIG_KEY}.method`,
      `${LOW_RANK_CONFIG_KEY}.gamma`,
      `${LOW_RANK_CONFIG_KEY}.distillation.steps`,
      `${LOW_RANK_CONFIG_KEY}.distillation.alpha`,
      `${LOW_RANK_CONFIG_KEY}.distillation.beta`,
      `${LOW_RANK_CONFIG_KEY}.distillation.eps`,
      `${LOW_RANK_CONFIG_KEY}.distillation.task_weight`,
      `${LOW_RANK_CONFIG_KEY}.modules.a.b`,
    ]);
    expect((error as Error).message).toMatch(/^dir\/config\.json: /);
    expect(() => parseLowRankConfig('x', 'p')).toThrow(/must be an object/);
    expect(() => parseLowRankConfig({ ...lowRankConfigToJson(config), modules: {} }, 'p')).toThrow(/modules: must be a non-empty object/);
  });
});
