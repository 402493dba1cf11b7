import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { LifecycleResult } from '../lifecycle/lifecycle-result';
import { renderReport } from './render-report';
import { lifecycleFixture } from './testing/lifecycle-fixture';

/**
 * The acceptance check of the quickstart report: opened from file:// in headless Chromium, every
 * figure must load and have a size, and the tables must be there. Debian's chromium package puts
 * the browser here; CI installs it (.ci/run), so there a missing browser fails instead of skipping.
 */
const CHROMIUM = '/usr/bin/chromium';
const REQUIRED = process.env.CI === 'true';
const AVAILABLE = existsSync(CHROMIUM);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const title = AVAILABLE || REQUIRED ? 'report.html in headless Chromium' : `report.html in headless Chromium (SKIPPED: ${CHROMIUM} not found; set CI=true to make this a failure)`;
if (!AVAILABLE && !REQUIRED) process.stderr.write(`report-browser.spec: skipped, ${CHROMIUM} not found (install Debian's chromium package to run it)\n`);

interface Problems {
  readonly console: string[];
  readonly failed: string[];
}

/** Collects console errors, uncaught page errors and failed requests: a clean page has none. */
function watch(page: Page): Problems {
  const problems: Problems = { console: [], failed: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') problems.console.push(m.text());
  });
  page.on('pageerror', (e) => problems.console.push(e.message));
  page.on('requestfailed', (r) => problems.failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  return problems;
}

(AVAILABLE || REQUIRED ? describe : describe.skip)(title, () => {
  let browser: Browser | undefined;
  let dir: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`CI=true but ${CHROMIUM} is missing: install Debian's chromium package (.ci/run does)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'patchwork-report-browser-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function open(result: LifecycleResult): Promise<{ page: Page; problems: Problems; figures: string[] }> {
    const out = await renderReport(result, dir);
    const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 900 } });
    const problems = watch(page);
    await page.goto(pathToFileURL(out.html).href, { waitUntil: 'load' });
    return { page, problems, figures: out.figures };
  }

  it('shows every figure rendered, the tables filled, and no errors', async () => {
    const result = lifecycleFixture();
    const { page, problems, figures } = await open(result);
    const images = await page.$$eval('img', (imgs) =>
      imgs.map((i) => ({ src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth, height: i.naturalHeight, shown: i.getBoundingClientRect().width })),
    );
    expect(images.map((i) => i.src)).toEqual(figures.map((f) => `figures/${path.basename(f)}`));
    for (const image of images) {
      expect(image).toEqual({ src: image.src, complete: true, width: expect.any(Number), height: expect.any(Number), shown: expect.any(Number) });
      expect([image.src, image.width > 0, image.height > 0, image.shown > 100]).toEqual([image.src, true, true, true]);
    }
    expect(await page.locator('#merge-table tbody tr').count()).toBe(result.merge.rows.length + 1);
    expect((await page.locator('#merge-table tr.kept td').first().textContent())?.trim()).toBe(result.merge.method);
    expect(await page.locator('#training-table tbody tr').count()).toBe(result.training.length);
    expect(await page.locator('#faults-table tbody tr').count()).toBe(result.faults.length);
    expect(await page.locator('#timings-table tbody tr').count()).toBe(7);
    expect(await page.locator('#gate .badge').textContent()).toBe('promoted');
    expect(problems).toEqual({ console: [], failed: [] });

    const shot = path.join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = await fs.readFile(shot);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    const keep = process.env.PATCHWORK_REPORT_SCREENSHOT;
    if (keep !== undefined && keep !== '') await fs.copyFile(shot, keep);
    await page.close();
  });

  it('parses every SVG on its own (a parse error would show Chromium\u2019s error page)', async () => {
    const out = await renderReport(lifecycleFixture(), dir);
    const page = await (browser as Browser).newPage();
    for (const figure of out.figures) {
      await page.goto(pathToFileURL(figure).href, { waitUntil: 'load' });
      const state = { root: await page.locator(':root').evaluate((root) => root.localName), errors: await page.locator('parsererror').count() };
      expect([path.basename(figure), state]).toEqual([path.basename(figure), { root: 'svg', errors: 0 }]);
    }
    await page.close();
  });

  it('runs nothing from hostile names and still renders every figure', async () => {
    const base = lifecycleFixture();
    const hostile = `<script>document.title='pwned'</script><img src=x onerror="document.title='pwned'">`;
    const result: LifecycleResult = {
      ...base,
      training: base.training.map((a) => ({ ...a, task: `${hostile}${a.task}` })),
      merge: { ...base.merge, rows: base.merge.rows.map((r) => ({ ...r, method: `${r.method}${hostile}` })) },
      compress: { ...base.compress, layers: base.compress.layers.map((l) => ({ ...l, module: `${hostile}\u0000${l.module}` })) },
      faults: [{ at: hostile, injected: hostile, observed: hostile }],
    };
    const { page, problems } = await open(result);
    expect(await page.title()).not.toBe('pwned');
    expect(await page.locator('script').count()).toBe(0);
    const widths = await page.$$eval('img', (imgs) => imgs.map((i) => i.naturalWidth));
    expect(widths).toHaveLength(8);
    expect(widths.every((w) => w > 0)).toBe(true);
    expect(await page.locator('#faults-table td').first().textContent()).toBe(hostile);
    expect(problems).toEqual({ console: [], failed: [] });
    await page.close();
  });
});
