import { PatchworkError } from '@patchwork/errors';
import { checkRunConfig } from './check-run-config';

function refusal(config: string): PatchworkError {
  try {
    checkRunConfig(config);
  } catch (e) {
    return PatchworkError.from(e);
  }
  throw new Error('expected the config to be refused');
}

describe('checkRunConfig', () => {
  it('accepts a complete LoRA recipe and returns the parsed config', () => {
    const c = checkRunConfig('method: lora\ntask: digits\nparameters: { r: 4, lora_alpha: 8, target_modules: [query, value] }\ntrainer: { steps: 10 }\n');
    expect(c.method).toBe('lora');
    expect(c.parameters).toMatchObject({ r: 4 });
  });

  it('refuses a rank <= 0 and names the field, before any model is loaded', () => {
    const err = refusal('method: lora\ntask: digits\nparameters: { r: 0 }\n');
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/parameters.*\br\b/);
  });

  it('refuses an unknown method', () => {
    const err = refusal('method: qlora\ntask: digits\n');
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/method/);
  });

  it("checks AdaLoRA's schedule against the run and MUSCLE's required references", () => {
    expect(refusal('method: adalora\ntask: digits\nparameters: { total_step: 99 }\ntrainer: { steps: 10 }\n').message).toMatch(/total_step/);
    expect(refusal('method: muscle\ntask: digits\nparameters: { old_base_model: vit-digits }\n').message).toMatch(/old_adapter/);
  });
});

describe('checkRunConfig tasks', () => {
  it('refuses a task the registry does not know, naming the field', () => {
    const err = refusal('method: lora\ntask: imagenet\n');
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.violations.map((v) => v.field)).toEqual(['task']);
  });
});
