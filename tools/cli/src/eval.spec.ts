import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { saveTinyVit as saveVit } from '@patchwork/evaluate/src/testing/tiny-models';
import { main } from './main';

let root: string;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'cli-eval-'));
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterAll(async () => {
  jest.restoreAllMocks();
  await fs.rm(root, { recursive: true, force: true });
});

describe('patchwork eval', () => {
  it('writes lm-eval results and samples, and compares two versions', async () => {
    const a = await saveVit(path.join(root, 'a'), 1);
    const b = await saveVit(path.join(root, 'b'), 2);
    for (const [model, out] of [[a, 'ra'], [b, 'rb']]) {
      const code = await main(['node', 'patchwork', 'eval', '--model', model, '--task', 'digits', '--limit', '32', '--batch-size', '16', '--out', path.join(root, out, 'results.json'), '--backend', 'cpu']);
      expect(code).toBe(0);
    }
    const results = JSON.parse(await fs.readFile(path.join(root, 'ra', 'results.json'), 'utf8'));
    expect(results.results.digits['acc,none']).toBeGreaterThanOrEqual(0);
    expect((await fs.readFile(path.join(root, 'ra', 'samples_digits.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(32);
    const code = await main(['node', 'patchwork', 'eval', 'compare', '--old', path.join(root, 'ra', 'samples_digits.jsonl'), '--new', path.join(root, 'rb', 'samples_digits.jsonl'), '--out', path.join(root, 'compat.json')]);
    expect(code).toBe(0);
    const report = JSON.parse(await fs.readFile(path.join(root, 'compat.json'), 'utf8'));
    expect(report.n).toBe(32);
    expect(report.negative_flip_rate).toBeGreaterThanOrEqual(0);
  });

  it('exits 2 naming a missing flag or an unknown task', async () => {
    expect(await main(['node', 'patchwork', 'eval', '--task', 'digits'])).toBe(2);
    expect(await main(['node', 'patchwork', 'eval', '--model', path.join(root, 'a'), '--task', 'no-such-task', '--out', path.join(root, 'x.json')])).toBe(2);
  });
});
