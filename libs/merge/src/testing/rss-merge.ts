/**
 * Spec-only script (run in a child process by memory-budget.spec.ts, so the measurement sees a
 * process that does nothing else): merges the recipe given on the command line under a memory
 * budget and prints the summary's memory figures as one JSON line.
 *
 *   node -r tsx/cjs rss-merge.ts <recipe.yaml> <outDir> <maxMemoryBytes|none>
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { executeMerge, parseMergeYaml, planMerge } from '../index';

async function main(): Promise<void> {
  const [recipe, outDir, budgetArg] = process.argv.slice(2);
  const startupRss = process.memoryUsage.rss();
  const config = parseMergeYaml(await fs.readFile(recipe, 'utf8'), path.dirname(recipe));
  const plan = await planMerge(config, async (ref) => ref);
  try {
    const summary = await executeMerge(plan, { outDir, maxMemoryBytes: budgetArg === 'none' ? undefined : Number(budgetArg) });
    const { baselineRssBytes, peakRssBytes, maxMemoryBytes, peakTensorBytes, chunkedTensors, bytesRead } = summary;
    process.stdout.write(`${JSON.stringify({ startupRss, baselineRssBytes, peakRssBytes, maxMemoryBytes, peakTensorBytes, chunkedTensors, bytesRead })}\n`);
  } finally {
    await plan.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
