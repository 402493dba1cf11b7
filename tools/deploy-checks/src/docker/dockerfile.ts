import { readFileSync } from 'node:fs';
import { PatchworkError } from '@patchwork/errors';

export interface Instruction {
  keyword: string;
  /** Arguments after the keyword, with leading `--flag=value` options split off. */
  args: string;
  flags: Record<string, string>;
  line: number;
}

export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  args: Record<string, string>;
  stages: Stage[];
}

/** The instructions of a Dockerfile, by stage: enough to check what an image contains and runs. */
export function parseDockerfile(file: string): Dockerfile {
  const lines = readFileSync(file, 'utf8').split('\n');
  const instructions: Instruction[] = [];
  let pending = '';
  let start = 0;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return;
    if (pending === '') start = i + 1;
    pending += `${line.replace(/\\$/, '')} `;
    if (line.endsWith('\\')) return;
    const match = /^(\w+)\s+(.*)$/s.exec(pending.trim());
    if (!match) throw new PatchworkError('INVALID_ARGUMENT', `${file}:${start}: cannot parse ${JSON.stringify(pending.trim())}`);
    let args = match[2].trim();
    const flags: Record<string, string> = {};
    for (let flag = /^--([\w-]+)=(\S+)\s+/.exec(args); flag; flag = /^--([\w-]+)=(\S+)\s+/.exec(args)) {
      flags[flag[1]] = flag[2];
      args = args.slice(flag[0].length);
    }
    instructions.push({ keyword: match[1].toUpperCase(), args, flags, line: start });
    pending = '';
  });
  const result: Dockerfile = { args: {}, stages: [] };
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [from, as, name] = instruction.args.split(/\s+/);
      result.stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (result.stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new PatchworkError('INVALID_ARGUMENT', `${file}:${instruction.line}: only ARG may precede FROM`);
      const [name, value] = instruction.args.split(/=(.*)/s, 2);
      result.args[name] = value ?? '';
    } else {
      result.stages[result.stages.length - 1].instructions.push(instruction);
    }
  }
  if (result.stages.length === 0) throw new PatchworkError('INVALID_ARGUMENT', `${file}: no FROM`);
  return result;
}

/** `COPY a b dest` -> sources and destination (JSON-array form included). */
export function copyOperands(instruction: Instruction): { sources: string[]; dest: string } {
  const parts = instruction.args.startsWith('[') ? (JSON.parse(instruction.args) as string[]) : instruction.args.split(/\s+/);
  if (parts.length < 2) throw new PatchworkError('INVALID_ARGUMENT', `line ${instruction.line}: COPY needs a source and a destination`);
  return { sources: parts.slice(0, -1), dest: parts[parts.length - 1] };
}
