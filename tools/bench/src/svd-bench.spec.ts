import { svd } from '@patchwork/tensor';
import { spectralTestMatrix } from './svd-bench';

describe('spectralTestMatrix', () => {
  it('is deterministic per seed and has a decaying spectrum above a small noise floor', () => {
    const a = spectralTestMatrix(40, 60, 3);
    expect(Array.from(spectralTestMatrix(40, 60, 3))).toEqual(Array.from(a));
    expect(Array.from(spectralTestMatrix(40, 60, 4))).not.toEqual(Array.from(a));
    const { s } = svd(a, 40, 60);
    expect(s[0] / s[39]).toBeGreaterThan(2);
    for (let i = 1; i < s.length; i++) expect(s[i]).toBeLessThanOrEqual(s[i - 1]);
  });
});
