import { UnigramModel } from './unigram';

describe('UnigramModel', () => {
  it('uses add-one smoothing over the whole vocabulary', () => {
    const m = new UnigramModel(4).add([0, 0, 1]);
    // p(0) = 3/7, p(1) = 2/7, p(2) = p(3) = 1/7.
    expect(m.logProb(0)).toBeCloseTo(Math.log(3 / 7), 12);
    expect(m.logProb(3)).toBeCloseTo(Math.log(1 / 7), 12);
    expect(m.perplexity([0, 1])).toBeCloseTo(Math.exp(-(Math.log(3 / 7) + Math.log(2 / 7)) / 2), 12);
  });

  it('equals the vocabulary size with no counts and rejects bad ids', () => {
    expect(new UnigramModel(50).perplexity([3, 4, 5])).toBeCloseTo(50, 9);
    expect(() => new UnigramModel(4).add([4])).toThrow(/outside/);
    expect(() => new UnigramModel(4).perplexity([])).toThrow(/at least one/);
  });
});
