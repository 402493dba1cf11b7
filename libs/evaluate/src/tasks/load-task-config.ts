import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { parseTaskConfig } from './parse-task-config';
import type { TaskConfig } from './task-config';

/** The YAML task configs shipped with this library (`libs/evaluate/tasks`). */
export const BUILTIN_TASK_DIR = path.resolve(__dirname, '..', '..', 'tasks');

/** Parses YAML text into a validated task config; `source` names it in error messages. */
export function parseTaskYaml(text: string, source = 'task config'): TaskConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text, { strict: true, uniqueKeys: true });
  } catch (error) {
    throw new PatchworkError('INVALID_ARGUMENT', `${source}: not valid YAML (${(error as Error).message})`, { cause: error });
  }
  return parseTaskConfig(raw, source);
}

function isPath(ref: string): boolean {
  return /\.ya?ml$/i.test(ref) || ref.includes('/') || ref.includes(path.sep);
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    const e = PatchworkError.from(error);
    throw new PatchworkError(e.code, `${what}: cannot read ${file}: ${e.message}`, { cause: error });
  }
}

/** Names of the task configs in `dir` (file names without .yaml), sorted. */
export async function listTaskConfigs(dir = BUILTIN_TASK_DIR): Promise<string[]> {
  const entries = await fs.readdir(dir);
  return entries
    .filter((f) => /\.ya?ml$/i.test(f))
    .map((f) => f.replace(/\.ya?ml$/i, ''))
    .sort();
}

/**
 * Loads a task config from a YAML file path, or by name from `taskDirs` (default: the built-in
 * configs), where `<dir>/<name>.yaml` must define `task: <name>`.
 */
export async function loadTaskConfig(ref: string, options: { taskDirs?: readonly string[] } = {}): Promise<TaskConfig> {
  if (typeof ref !== 'string' || ref === '') throw invalidArgument('task', 'expected a task name or a path to a YAML task config');
  if (isPath(ref)) return parseTaskYaml(await readText(ref, 'task config'), ref);
  const dirs = options.taskDirs ?? [BUILTIN_TASK_DIR];
  for (const dir of dirs) {
    for (const ext of ['.yaml', '.yml']) {
      const file = path.join(dir, ref + ext);
      const exists = await fs.stat(file).then(
        (s) => s.isFile(),
        () => false,
      );
      if (!exists) continue;
      const config = parseTaskYaml(await readText(file, 'task config'), file);
      if (config.task !== ref) throw new PatchworkError('INVALID_ARGUMENT', `${file}: defines task "${config.task}" but is named "${ref}"`);
      return config;
    }
  }
  const known = (await Promise.all(dirs.map((d) => listTaskConfigs(d).catch(() => [] as string[])))).flat();
  throw new PatchworkError('NOT_FOUND', `task "${ref}" is not defined in ${dirs.join(', ')}; known tasks: ${known.join(', ') || 'none'}`);
}
