import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { saveTinyVit } from '@patchwork/evaluate/src/testing/tiny-models';
import { main } from './main';

let root: string;
let stderr: string;
let stdout: string;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'cli-compress-'));
});
beforeEach(() => {
  stderr = '';
  stdout = '';
  jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
});
afterEach(() => jest.restoreAllMocks());
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('patchwork compress', () => {
  it('factors and distils, printing per-layer errors before and after, and resumes from --checkpoint-dir', async () => {
    const model = await saveTinyVit(path.join(root, 'vit'), 5);
    const args = (out: string) => ['node', 'patchwork', 'compress', '--model', model, '--gamma', '2', '--distill', 'digits', '--steps', '4', '--batch-size', '8', '--lr', '1e-3', '--beta', '0', '--checkpoint-dir', path.join(root, 'ckpt'), '--out', path.join(root, out), '--backend', 'cpu'];
    expect(await main(args('a'))).toBe(0);
    const report = JSON.parse(await fs.readFile(path.join(root, 'a', 'compress_report.json'), 'utf8'));
    expect(report.distill).toMatchObject({ steps: 4, weights: { beta: 0, alpha: 1 }, data: { name: 'digits' } });
    expect(report.distill.history.every((r: { weightPerturbation: number | null }) => r.weightPerturbation === null)).toBe(true);
    // Jest routes console output (the tfjs banner) through stdout too: take the table from its header.
    const lines = stdout.slice(stdout.indexOf('module\tin\t')).trim().split('\n');
    expect(lines[0].split('\t')).toEqual(['module', 'in', 'out', 'rank', 'rel_error', 'optimal', 'max_abs', 'rel_error_distilled', 'max_abs_distilled']);
    expect(lines).toHaveLength(1 + report.layers.length);
    expect(stderr).toMatch(/distill .*step 4\/4 loss/);
    expect(stderr).toContain(`FLOPs/token ${report.flops_per_token_before} -> ${report.flops_per_token_after}`);
    // The same command into a fresh directory finds the finished run's checkpoint.
    expect(await main(args('b'))).toBe(0);
    expect(stderr).toContain('resumed from step 4');
    const again = JSON.parse(await fs.readFile(path.join(root, 'b', 'compress_report.json'), 'utf8'));
    expect(again.layers.map((l: { relErrorAfterDistill: number }) => l.relErrorAfterDistill)).toEqual(report.layers.map((l: { relErrorAfterDistill: number }) => l.relErrorAfterDistill));
  });

  it('exits 2 naming each bad flag, and writes nothing', async () => {
    const model = await saveTinyVit(path.join(root, 'vit-bad'), 6);
    const run = (...extra: string[]) => main(['node', 'patchwork', 'compress', '--model', model, '--gamma', '2', '--out', path.join(root, 'none'), '--backend', 'cpu', ...extra]);
    expect(await run('--steps', '5')).toBe(2);
    expect(stderr).toContain('--steps: needs --distill DATASET');
    expect(await run('--distill', 'digits', '--steps', '0', '--alpha', '-1')).toBe(2);
    expect(stderr).toMatch(/--steps: must be a positive integer.*--alpha: must be a number >= 0|--alpha.*--steps/s);
    expect(await run('--distill', 'moby-dick', '--steps', '3')).toBe(2);
    expect(stderr).toContain('is text but the vit model reads images');
    await expect(fs.access(path.join(root, 'none'))).rejects.toThrow();
  });
});
