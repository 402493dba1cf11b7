import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../../..');

/** Lints `code` as if it were `file`, through the ESLint CLI (its config loader needs real ESM). */
async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const run = spawnSync(process.execPath, [path.join(root, 'node_modules/eslint/bin/eslint.js'), '--format', 'json', '--stdin', '--stdin-filename', file], {
    cwd: root,
    input: code,
    encoding: 'utf8',
  });
  const [result] = JSON.parse(run.stdout) as { messages: { ruleId: string | null; message: string }[] }[];
  return result.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

// ARCHITECTURE.md section 1: services -> method libs -> models -> tensor, and method libs never
// import the platform or the contracts. Lint is where a back-edge fails.
describe('layering', () => {
  it('refuses a method library importing the contracts or the platform', async () => {
    expect(await boundaryErrors('libs/merge/src/x.ts', "import { JobState } from '@patchwork/contracts';\nexport const x = JobState;\n")).toHaveLength(1);
    expect(await boundaryErrors('libs/merge/src/x.ts', "import { serve } from '@patchwork/platform';\nexport const x = serve;\n")).toHaveLength(1);
  });

  it('refuses the tensor library importing a method library, and the platform importing a service', async () => {
    expect(await boundaryErrors('libs/tensor/src/x.ts', "import { linear } from '@patchwork/merge';\nexport const x = linear;\n")).toHaveLength(1);
    expect(await boundaryErrors('libs/platform/src/x.ts', "import { mergeServiceModule } from '@patchwork/service-merge';\nexport const x = mergeServiceModule;\n")).toHaveLength(1);
  });

  it('allows the edges the architecture draws', async () => {
    expect(await boundaryErrors('services/merge/src/x.ts', "import { planMerge } from '@patchwork/merge';\nexport const x = planMerge;\n")).toEqual([]);
    expect(await boundaryErrors('libs/merge/src/x.ts', "import { tf } from '@patchwork/tensor';\nexport const x = tf;\n")).toEqual([]);
  });
});
