import { PatchworkError } from '@patchwork/errors';
import { digitFeatures, loadDigits } from '../sources/digits';
import { loadSotu, type Speech } from '../sources/sotu';
import { loadSpamAssassin, type Mail } from '../sources/spam-assassin';
import { SPLIT_NAMES, resolveSplitOptions, type SplitName } from '../split';
import { sourcePartition } from './partitions';
import type { ImageTaskSplits, RegisteredTask, Split, TaskDefinition, TaskOptions, TaskSequenceDefinition, TaskSplits, TextTaskSplits } from './types';

type Labeler<R> = (record: R) => number | undefined;

type Entry =
  | { def: TaskDefinition & { source: 'digits' }; label: Labeler<number> }
  | { def: TaskDefinition & { source: 'spam-assassin' }; label: Labeler<Mail> }
  | { def: TaskDefinition & { source: 'sotu' }; label: Labeler<Speech> };

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

function digitTask(name: string, description: string, labelNames: readonly string[], label: Labeler<number>): Entry {
  return { def: { kind: 'task', name, description, source: 'digits', inputKind: 'image', labelNames }, label };
}

function buildEntries(): Entry[] {
  const entries: Entry[] = [
    digitTask('digits', 'Handwritten digit recognition, 10 classes (8x8 images).', DIGITS, (d) => d),
    digitTask('digits-parity', 'Is the digit even or odd? All 10 digits.', ['even', 'odd'], (d) => d % 2),
    digitTask('digits-gt4', 'Is the digit greater than 4? All 10 digits.', ['0-4', '5-9'], (d) => (d > 4 ? 1 : 0)),
    // The two halves as 5-way tasks: the same head shape as the vit-digits backbone (trained on
    // 0-4), so patches for either half merge with it and with each other.
    digitTask('digits-lower', 'Which of 0-4? Images of 0-4 only, labels 0-4.', DIGITS.slice(0, 5), (d) => (d < 5 ? d : undefined)),
    digitTask('digits-upper', 'Which of 5-9? Images of 5-9 only, labels 0-4 standing for 5-9.', DIGITS.slice(5), (d) => (d > 4 ? d - 5 : undefined)),
  ];
  for (let a = 0; a < 10; a++) {
    for (let b = a + 1; b < 10; b++) {
      entries.push(
        digitTask(`digits-pair-${a}-${b}`, `Digit ${a} versus digit ${b} (images of other digits left out).`, [DIGITS[a], DIGITS[b]], (d) =>
          d === a ? 0 : d === b ? 1 : undefined,
        ),
      );
    }
  }
  for (let k = 0; k < 5; k++) {
    const [a, b] = [2 * k, 2 * k + 1];
    entries.push(
      digitTask(
        `split-digits-${k + 1}`,
        `Split-Digits task ${k + 1}: digits ${a} and ${b}, labelled with the digit itself (0-9) for class-incremental heads.`,
        DIGITS,
        (d) => (d === a || d === b ? d : undefined),
      ),
    );
  }
  entries.push(
    {
      def: {
        kind: 'task',
        name: 'spam',
        description: 'SpamAssassin: ham (easy and hard) versus spam, 6046 mails (69% ham).',
        source: 'spam-assassin',
        inputKind: 'text',
        labelNames: ['ham', 'spam'],
      },
      label: (m: Mail) => (m.label === 'spam' ? 1 : 0),
    },
    {
      def: {
        kind: 'task',
        name: 'ham-hardness',
        description: 'SpamAssassin ham only: easy versus hard ham (250 of 4150 are hard).',
        source: 'spam-assassin',
        inputKind: 'text',
        labelNames: ['easy', 'hard'],
      },
      label: (m: Mail) => (m.hardness === null ? undefined : m.hardness === 'hard' ? 1 : 0),
    },
    {
      def: {
        kind: 'task',
        name: 'sotu-century',
        description: 'State of the Union: delivered in 1800-1899 or in 1900-1999 (100 and 101 speeches; others left out).',
        source: 'sotu',
        inputKind: 'text',
        labelNames: ['1800s', '1900s'],
      },
      label: (s: Speech) => (s.year >= 1800 && s.year <= 1899 ? 0 : s.year >= 1900 && s.year <= 1999 ? 1 : undefined),
    },
    {
      def: {
        kind: 'task',
        name: 'sotu-party',
        description: "State of the Union: the president's party, Democratic or Republican (90 and 92 speeches; others left out).",
        source: 'sotu',
        inputKind: 'text',
        labelNames: ['Democratic', 'Republican'],
      },
      label: (s: Speech) => (s.party === 'Democratic' ? 0 : s.party === 'Republican' ? 1 : undefined),
    },
  );
  return entries;
}

const ENTRIES = new Map(buildEntries().map((e) => [e.def.name, e]));

const SEQUENCES = new Map<string, TaskSequenceDefinition>([
  [
    'split-digits',
    {
      kind: 'sequence',
      name: 'split-digits',
      description: 'Class-incremental Split-Digits: 5 tasks of 2 digits each ({0,1}, {2,3}, ..., {8,9}), labels 0-9.',
      tasks: ['split-digits-1', 'split-digits-2', 'split-digits-3', 'split-digits-4', 'split-digits-5'],
    },
  ],
]);

/** Every registered task and task sequence. */
export function listTasks(): RegisteredTask[] {
  return [...[...ENTRIES.values()].map((e) => e.def), ...SEQUENCES.values()];
}

export function getTask(name: string): RegisteredTask {
  const task = ENTRIES.get(name)?.def ?? SEQUENCES.get(name);
  if (task) return task;
  const pair = /^digits-pair-(\d)-(\d)$/.exec(name);
  const hint = pair && pair[1] > pair[2] ? ` (did you mean digits-pair-${pair[2]}-${pair[1]}?)` : '';
  throw new PatchworkError('NOT_FOUND', `task "${name}" is not registered${hint}; listTasks() names them all`);
}

function selectSplits<R, X>(
  records: readonly R[],
  partition: Record<SplitName, number[]>,
  label: Labeler<R>,
  id: (i: number) => string,
  input: (i: number) => X,
): Record<SplitName, Split<X>> {
  const out = {} as Record<SplitName, Split<X>>;
  for (const name of SPLIT_NAMES) {
    const chosen: number[] = [];
    const labels: number[] = [];
    for (const i of partition[name]) {
      const y = label(records[i]);
      if (y !== undefined) {
        chosen.push(i);
        labels.push(y);
      }
    }
    out[name] = { ids: chosen.map(id), inputs: chosen.map(input), labels: Int32Array.from(labels) };
  }
  return out;
}

/** Loads one task's train / validation / test splits. */
export function loadTask(name: string, options: TaskOptions = {}): TaskSplits {
  const entry = ENTRIES.get(name);
  if (!entry) {
    const task = getTask(name);
    throw new PatchworkError('INVALID_ARGUMENT', `"${task.name}" is a task sequence; load it with loadTaskSequence`);
  }
  const { seed, fractions } = resolveSplitOptions(options);
  const partition = sourcePartition(entry.def.source, { seed, fractions });
  const base = { name, labelNames: entry.def.labelNames, seed, fractions };
  switch (entry.def.source) {
    case 'digits': {
      const data = loadDigits();
      const digits = Array.from(data.labels);
      const splits = selectSplits(digits, partition, entry.label as Labeler<number>, (i) => `digits:${i}`, (i) =>
        digitFeatures(data, i, options.rawPixels === true),
      );
      return { ...base, inputKind: 'image', imageShape: [data.height, data.width], ...splits } satisfies ImageTaskSplits;
    }
    case 'spam-assassin': {
      const mails = loadSpamAssassin();
      const splits = selectSplits(mails, partition, entry.label as Labeler<Mail>, (i) => `spam-assassin:${mails[i].id}`, (i) => mails[i].text);
      return { ...base, inputKind: 'text', ...splits } satisfies TextTaskSplits;
    }
    case 'sotu': {
      const speeches = loadSotu();
      const splits = selectSplits(speeches, partition, entry.label as Labeler<Speech>, (i) => `sotu:${speeches[i].id}`, (i) => speeches[i].text);
      return { ...base, inputKind: 'text', ...splits } satisfies TextTaskSplits;
    }
  }
}

/** Loads every task of a sequence, in order, with the same seed and fractions. */
export function loadTaskSequence(name: string, options: TaskOptions = {}): TaskSplits[] {
  const sequence = SEQUENCES.get(name);
  if (!sequence) {
    getTask(name);
    throw new PatchworkError('INVALID_ARGUMENT', `"${name}" is a single task; load it with loadTask`);
  }
  return sequence.tasks.map((t) => loadTask(t, options));
}
