import { PatchworkError } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import fc from 'fast-check';
import { ConfigReader } from '../config/config-reader';
import { applyRope, readRopeSettings, ropeInverseFrequencies, ropeTables } from './rope';

function settingsOf(raw: Record<string, unknown>): ReturnType<typeof readRopeSettings> {
  return readRopeSettings(new ConfigReader(raw));
}

function errorOf(fn: () => unknown): PatchworkError {
  try {
    fn();
  } catch (e) {
    return e as PatchworkError;
  }
  throw new Error('expected an error');
}

describe('readRopeSettings', () => {
  it('reads transformers 5 rope_parameters and transformers 4 rope_theta / rope_scaling alike', () => {
    expect(settingsOf({ rope_parameters: { rope_type: 'default', rope_theta: 500000 } })).toEqual({ type: 'default', theta: 500000 });
    expect(settingsOf({ rope_theta: 500000, rope_scaling: null })).toEqual({ type: 'default', theta: 500000 });
    expect(settingsOf({})).toEqual({ type: 'default', theta: 10000 });
    expect(settingsOf({ rope_scaling: { type: 'linear', factor: 4 } })).toEqual({ type: 'linear', theta: 10000, factor: 4 });
    expect(settingsOf({ rope_parameters: { rope_type: 'linear', rope_theta: 1e4, factor: 2 } })).toEqual({ type: 'linear', theta: 1e4, factor: 2 });
  });

  it('refuses unsupported scaling types with UNIMPLEMENTED and incomplete ones with INVALID_ARGUMENT', () => {
    const yarn = errorOf(() => settingsOf({ rope_scaling: { rope_type: 'yarn', factor: 4 } }));
    expect(yarn.code).toBe('UNIMPLEMENTED');
    expect(yarn.message).toContain('"yarn"');
    const noFactor = errorOf(() => settingsOf({ rope_scaling: { type: 'linear' } }));
    expect(noFactor.code).toBe('INVALID_ARGUMENT');
    expect(noFactor.message).toContain('config.rope_scaling.factor');
  });
});

describe('ropeInverseFrequencies', () => {
  it('default is theta^(-2i/d); linear divides every frequency by the factor', () => {
    const d = ropeInverseFrequencies({ type: 'default', theta: 10000 }, 8);
    const l = ropeInverseFrequencies({ type: 'linear', theta: 10000, factor: 4 }, 8);
    for (let i = 0; i < 4; i++) {
      expect(d[i]).toBeCloseTo(Math.pow(10000, (-2 * i) / 8), 7);
      expect(l[i]).toBeCloseTo(d[i] / 4, 7);
    }
  });

  it('llama3 slows long wavelengths by the factor, keeps short ones, blends the band between', () => {
    const base = { theta: 500000, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
    const plain = ropeInverseFrequencies({ type: 'default', theta: base.theta }, 128);
    const scaled = ropeInverseFrequencies({ type: 'llama3', ...base }, 128);
    let blended = 0;
    plain.forEach((f, i) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < 8192 / 4) expect(scaled[i]).toBe(f);
      else if (wavelen > 8192) expect(scaled[i]).toBeCloseTo(f / 8, 9);
      else {
        blended++;
        expect(scaled[i]).toBeLessThanOrEqual(f);
        expect(scaled[i]).toBeGreaterThanOrEqual(f / 8);
      }
    });
    expect(blended).toBeGreaterThan(0);
  });
});

describe('applyRope', () => {
  it('rotates pairs: norms are kept and q.k depends only on the distance between positions', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 999 }), (m, n, shift, seed) => {
        tf.tidy(() => {
          const inv = ropeInverseFrequencies({ type: 'default', theta: 10000 }, 8);
          const { cos, sin } = ropeTables(inv, 32);
          const vec = tf.randomNormal([1, 1, 1, 8], 0, 1, 'float32', seed);
          const other = tf.randomNormal([1, 1, 1, 8], 0, 1, 'float32', seed + 1);
          const at = (x: tf.Tensor, p: number): tf.Tensor => applyRope(x, cos.slice([p, 0], [1, 8]), sin.slice([p, 0], [1, 8])).reshape([8]);
          const dot = (a: tf.Tensor, b: tf.Tensor): number => tf.sum(tf.mul(a, b)).dataSync()[0];
          expect(tf.norm(at(vec, m)).dataSync()[0]).toBeCloseTo(tf.norm(vec).dataSync()[0], 4);
          expect(dot(at(vec, m), at(other, n))).toBeCloseTo(dot(at(vec, m + shift), at(other, n + shift)), 4);
        });
      }),
      { numRuns: 40 },
    );
  });
});
