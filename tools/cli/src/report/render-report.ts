import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { invalidArgument, PatchworkError } from '@patchwork/errors';
import type { LifecycleResult } from '../lifecycle/lifecycle-result';
import { buildFigures } from './figures/all-figures';
import { reportPage } from './html/page';
import { validateLifecycleResult } from './validate-result';
import { writeTextAtomically } from './write-file';

export interface RenderedReport {
  /** Absolute path of `report.html`. */
  readonly html: string;
  /** Absolute paths of the SVG figures, in the order the report shows them. */
  readonly figures: string[];
}

/** The folder beside report.html that holds the figures; the page links them relatively. */
export const FIGURES_DIR = 'figures';

/**
 * Renders `result` as `<outDir>/report.html` and standalone SVGs in `<outDir>/figures/`.
 * The figures are written first and the page last, so a report.html on disk always has its
 * figures. Throws INVALID_ARGUMENT (field named) when `result` is not a LifecycleResult.
 */
export async function renderReport(result: LifecycleResult, outDir: string): Promise<RenderedReport> {
  if (typeof outDir !== 'string' || outDir.trim() === '') throw invalidArgument('outDir', 'must be a non-empty path');
  validateLifecycleResult(result);
  const figures = buildFigures(result);
  const page = reportPage(result, figures);
  const root = path.resolve(outDir);
  const figureDir = path.join(root, FIGURES_DIR);
  try {
    await fs.mkdir(figureDir, { recursive: true });
    const written: string[] = [];
    for (const figure of Object.values(figures)) {
      const file = path.join(figureDir, figure.file);
      await writeTextAtomically(file, figure.svg);
      written.push(file);
    }
    const html = path.join(root, 'report.html');
    await writeTextAtomically(html, page);
    return { html, figures: written };
  } catch (err) {
    throw PatchworkError.from(err);
  }
}
