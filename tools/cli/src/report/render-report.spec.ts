import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import type { LifecycleResult } from '../lifecycle/lifecycle-result';
import { renderReport } from './render-report';
import { lifecycleFixture } from './testing/lifecycle-fixture';
import { findAll, parseXml, textContent, type XmlElement } from './testing/xml';

const FIGURES = [
  'training-loss.svg',
  'training-accuracy.svg',
  'merge-normalized.svg',
  'merge-per-task.svg',
  'compatibility.svg',
  'retrieval.svg',
  'compress-layers.svg',
  'timings.svg',
];

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'patchwork-report-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

interface Rendered {
  readonly page: XmlElement;
  readonly html: string;
  readonly svgs: ReadonlyMap<string, string>;
}

async function render(result: LifecycleResult): Promise<Rendered> {
  const out = await renderReport(result, dir);
  const html = await fs.readFile(out.html, 'utf8');
  const svgs = new Map<string, string>();
  for (const f of out.figures) svgs.set(path.basename(f), await fs.readFile(f, 'utf8'));
  return { page: parseXml(html), html, svgs };
}

function byId(root: XmlElement, id: string): XmlElement {
  const found: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (e.attrs.id === id) found.push(e);
    for (const c of e.children) if (typeof c !== 'string') walk(c);
  };
  walk(root);
  expect(found).toHaveLength(1);
  return found[0];
}

function bodyRows(table: XmlElement): XmlElement[] {
  return findAll(findAll(table, 'tbody')[0], 'tr');
}

describe('renderReport', () => {
  it('writes report.html and every figure, and returns their absolute paths', async () => {
    const out = await renderReport(lifecycleFixture(), dir);
    expect(out.html).toBe(path.join(dir, 'report.html'));
    expect(out.figures).toEqual(FIGURES.map((f) => path.join(dir, 'figures', f)));
    expect((await fs.readdir(path.join(dir, 'figures'))).sort()).toEqual([...FIGURES].sort());
    expect((await fs.readdir(dir)).sort()).toEqual(['figures', 'report.html']);
  });

  it('writes well-formed SVGs that draw the fixture', async () => {
    const { svgs } = await render(lifecycleFixture());
    for (const [name, svg] of svgs) {
      expect([name, svg]).not.toEqual([name, expect.stringMatching(/NaN|Infinity|undefined/)]);
      const root = parseXml(svg);
      expect(root.name).toBe('svg');
      expect(Number(root.attrs.width)).toBeGreaterThan(0);
    }
    expect(findAll(parseXml(svgs.get('training-loss.svg')!), 'path')).toHaveLength(2);
    const layers = parseXml(svgs.get('compress-layers.svg')!);
    expect(findAll(layers, 'text').filter((t) => textContent(t).includes('r = '))).toHaveLength(12);
  });

  it('builds a self-contained page that links every figure relatively and fills its tables', async () => {
    const result = lifecycleFixture();
    const { page, html } = await render(result);
    const srcs = findAll(page, 'img').map((i) => i.attrs.src);
    expect(srcs).toEqual(FIGURES.map((f) => `figures/${f}`));
    expect(findAll(page, 'img').every((i) => (i.attrs.alt ?? '').length > 0)).toBe(true);
    expect(findAll(page, 'script')).toHaveLength(0);
    expect(findAll(page, 'link')).toHaveLength(0);
    expect(html).not.toMatch(/https?:\/\//);
    expect(findAll(page, 'style')).toHaveLength(1);

    const merge = bodyRows(byId(page, 'merge-table'));
    expect(merge).toHaveLength(result.merge.rows.length + 1);
    const kept = merge.filter((r) => r.attrs.class === 'kept');
    expect(kept.map((r) => textContent(findAll(r, 'td')[0]))).toEqual(['pcb']);
    expect(textContent(kept[0])).toContain('96.7%');
    expect(bodyRows(byId(page, 'training-table'))).toHaveLength(2);
    expect(bodyRows(byId(page, 'faults-table'))).toHaveLength(2);
    expect(bodyRows(byId(page, 'timings-table'))).toHaveLength(7);
    expect(textContent(byId(page, 'gate'))).toContain('promoted');
    expect(textContent(byId(page, 'compress'))).toContain('4.39M \u2192 3.52M (80.3%)');
  });

  it('escapes hostile names everywhere: they show as text and never become markup', async () => {
    const hostile = '<script>alert(1)</script>"\'><img src=x onerror=alert(2)>&amp;\u0000';
    const base = lifecycleFixture();
    const result: LifecycleResult = {
      ...base,
      fabric: hostile,
      backbone: { ...base.backbone, name: hostile },
      compress: { ...base.compress, layers: base.compress.layers.map((l) => ({ ...l, module: `${hostile}.${l.module}` })) },
      training: base.training.map((a, i) => ({ ...a, task: `${hostile}${i}`, metrics: { ...a.metrics, [hostile]: 1 } })),
      merge: { ...base.merge, method: hostile, rows: base.merge.rows.map((r, i) => ({ ...r, method: i === 3 ? hostile : r.method, accuracy: { [hostile]: 0.5, ...r.accuracy } })) },
      evaluation: { ...base.evaluation, gate: { ...base.evaluation.gate, rule: hostile, reasons: [hostile] }, compatibility: { ...base.evaluation.compatibility, oldModel: hostile } },
      retrieval: { ...base.retrieval, routes: { [hostile]: 3, ...base.retrieval.routes } },
      faults: [{ at: hostile, injected: `</td></tr></table>${hostile}`, observed: hostile }],
    };
    const { page, svgs } = await render(result);
    const shown = hostile.replace('\u0000', '\uFFFD');
    expect(findAll(page, 'script')).toHaveLength(0);
    expect(findAll(page, 'img')).toHaveLength(FIGURES.length);
    expect(textContent(byId(page, 'faults-table'))).toContain(`</td></tr></table>${shown}`);
    expect(textContent(byId(page, 'training-table'))).toContain(`${shown}0`);
    expect(textContent(byId(page, 'gate'))).toContain(shown);
    for (const svg of svgs.values()) {
      const root = parseXml(svg);
      expect(findAll(root, 'script')).toHaveLength(0);
      expect(findAll(root, 'img')).toHaveLength(0);
    }
    expect(findAll(parseXml(svgs.get('merge-normalized.svg')!), 'title').map(textContent).join('\n')).toContain(shown);
  });

  it('renders a lifecycle with nothing in it, and NaN measurements, without drawing NaN', async () => {
    const base = lifecycleFixture();
    const result: LifecycleResult = {
      ...base,
      seconds: NaN,
      compress: { ...base.compress, paramsBefore: 0, gamma: NaN, layers: [] },
      training: [],
      merge: { ...base.merge, rows: [] },
      evaluation: {
        ...base.evaluation,
        metrics: {},
        gate: { rule: 'always', decision: 'rejected', reasons: [] },
        compatibility: { ...base.evaluation.compatibility, samples: NaN, negativeFlipRate: NaN, positiveFlipRate: NaN, oldAccuracy: NaN, newAccuracy: NaN },
      },
      retrieval: { ...base.retrieval, inputs: NaN, routedCorrectly: NaN, predictedCorrectly: 0, routes: {} },
      faults: [],
    };
    const { page, html, svgs } = await render(result);
    expect(html).not.toMatch(/NaN|Infinity|undefined/);
    for (const svg of svgs.values()) expect(svg).not.toMatch(/NaN|Infinity|undefined/);
    expect(textContent(byId(page, 'no-faults'))).toContain('No faults');
    expect(textContent(byId(page, 'gate'))).toContain('rejected');
    expect(textContent(parseXml(svgs.get('training-loss.svg')!))).toContain('No training curves were recorded');
    expect(textContent(parseXml(svgs.get('compress-layers.svg')!))).toContain('No layers were factored');
  });

  it('renders curves with one point, flat curves and NaN losses', async () => {
    const base = lifecycleFixture();
    const [a, b] = base.training;
    const result: LifecycleResult = {
      ...base,
      training: [
        { ...a, curve: [{ step: 1, loss: 0.7, lr: 1e-3, evalAccuracy: 0.5 }] },
        { ...b, curve: [1, 2, 3, 4].map((step) => ({ step, loss: step === 3 ? NaN : 0.3, lr: 1e-3, evalAccuracy: 1 })) },
      ],
    };
    const { svgs } = await render(result);
    const loss = parseXml(svgs.get('training-loss.svg')!);
    // The one-point curve and the point after the gap have no line to draw: markers show them.
    expect(findAll(loss, 'path')).toHaveLength(1);
    expect(findAll(loss, 'circle')).toHaveLength(4);
    expect(svgs.get('training-accuracy.svg')).not.toMatch(/NaN/);
  });

  it('accepts a result that went through JSON, where NaN became null', async () => {
    const base = lifecycleFixture();
    const withNaN = { ...base, merge: { ...base.merge, rows: [{ ...base.merge.rows[0], normalizedAverage: NaN }] } };
    const roundTripped = JSON.parse(JSON.stringify(withNaN)) as LifecycleResult;
    expect(roundTripped.merge.rows[0].normalizedAverage).toBeNull();
    const { page, html } = await render(roundTripped);
    expect(html).not.toMatch(/NaN|null/);
    expect(textContent(bodyRows(byId(page, 'merge-table'))[0])).toContain('\u2013');
  });

  it('overwrites an earlier report in place', async () => {
    await renderReport(lifecycleFixture({ fabric: 'first' }), dir);
    await renderReport(lifecycleFixture({ fabric: 'second' }), dir);
    const html = await fs.readFile(path.join(dir, 'report.html'), 'utf8');
    expect(html).toContain('fabric: second');
    expect(html).not.toContain('fabric: first');
    expect((await fs.readdir(path.join(dir, 'figures'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('rejects a result of the wrong shape with INVALID_ARGUMENT naming each field', async () => {
    const base = lifecycleFixture();
    const broken = {
      ...base,
      startedAt: 5,
      training: [{ ...base.training[0], curve: [{ step: 1, loss: 'low', lr: 0 }] }],
      evaluation: { ...base.evaluation, gate: { ...base.evaluation.gate, decision: 'maybe' } },
      retrieval: { ...base.retrieval, routes: { a: 'three' } },
    } as unknown as LifecycleResult;
    const err = await renderReport(broken, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PatchworkError);
    expect((err as PatchworkError).code).toBe('INVALID_ARGUMENT');
    expect((err as PatchworkError).violations.map((v) => v.field)).toEqual(['startedAt', 'training[0].curve[0].loss', 'evaluation.gate.decision', 'retrieval.routes']);
    await expect(fs.readdir(dir)).resolves.toEqual([]);
  });

  it('rejects a non-object result and an empty outDir', async () => {
    await expect(renderReport(null as unknown as LifecycleResult, dir)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', violations: [{ field: 'result' }] });
    await expect(renderReport(lifecycleFixture(), ' ')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', violations: [{ field: 'outDir' }] });
  });
});
