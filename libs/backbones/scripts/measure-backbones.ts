// Builds every backbone (and the evolved text variants) with the default recipes and prints the
// quality table of the README. Run from the repository root:
//   npx tsx libs/backbones/scripts/measure-backbones.ts --out /tmp/patchwork-backbones [--backend wasm|cpu] [--only NAME] [--steps N]
import { type BackboneName, BACKBONE_NAMES, type BuiltBackbone, buildBackbone, isBackboneName } from '../src';
import { type BackendChoice, initBackend, shutdownBackends } from '@patchwork/tensor';
import * as nodePath from 'node:path';
import { parseArgs } from 'node:util';

function row(name: string, b: BuiltBackbone): string {
  const m = b.metrics;
  const fmt = (x: number | undefined, digits = 1) => (x === undefined ? '–' : x.toFixed(digits));
  const newSet = m.heldOut?.['new'];
  return `| ${name} | ${fmt(m.heldOutPerplexity)} | ${fmt(m.unigramPerplexity)} | ${newSet ? `${fmt(newSet.perplexity)} / ${fmt(newSet.unigramPerplexity)}` : '–'} | ${m.accuracy === undefined ? '–' : `${(100 * m.accuracy).toFixed(1)}% (${m.heldOutExamples})`} | ${fmt(m.trainLoss, 3)} | ${fmt(b.seconds, 0)} |`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, backend: { type: 'string', default: 'wasm' }, only: { type: 'string' }, steps: { type: 'string' }, seed: { type: 'string' } } });
  if (values.out === undefined) throw new Error('--out DIR is required');
  const names: BackboneName[] = values.only === undefined ? [...BACKBONE_NAMES] : values.only.split(',').filter(isBackboneName);
  const info = await initBackend({ backend: values.backend as BackendChoice });
  const steps = values.steps === undefined ? undefined : Number(values.steps);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  console.log(`backend ${info.name} (${info.device}, ${info.threads} thread(s))`);
  const rows: string[] = [];
  for (const name of names) {
    const progress = (p: { phase: string; message: string }) => console.log(`[${name}] ${p.phase}: ${p.message}`);
    const base = await buildBackbone({ name, outDir: nodePath.join(values.out, name), steps, seed, onProgress: progress });
    rows.push(row(name, base));
    if (name !== 'vit-digits') {
      const evolved = await buildBackbone({ name, evolved: true, baseDir: base.dir, outDir: nodePath.join(values.out, `${name}-evolved`), steps, seed, onProgress: progress });
      rows.push(row(`${name} --evolved`, evolved));
    }
  }
  console.log('\n| backbone | held-out ppl (base domain) | unigram ppl | ham mails ppl / unigram | accuracy (held-out) | final train loss | build s |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  shutdownBackends();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
