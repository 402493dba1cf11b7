import { textCorpus } from '../corpus';
import { loadMobyDick } from '../sources/moby-dick';
import { loadSotu } from '../sources/sotu';
import { loadSpamAssassin } from '../sources/spam-assassin';
import { intersect, labelShares } from '../testing';
import { loadTask } from './registry';
import type { TextTaskSplits } from './types';

const SPLITS = ['train', 'validation', 'test'] as const;

function text(name: string, options = {}): TextTaskSplits {
  const task = loadTask(name, options);
  if (task.inputKind !== 'text') throw new Error(`${name} is not a text task`);
  return task;
}

function sizes(task: TextTaskSplits): number[] {
  return SPLITS.map((s) => task[s].ids.length);
}

describe('text sources', () => {
  it('SpamAssassin: 6046 mails in the five documented groups, headers other than Subject removed', () => {
    const mails = loadSpamAssassin();
    const groups: Record<string, number> = {};
    for (const m of mails) groups[m.group] = (groups[m.group] ?? 0) + 1;
    expect(groups).toEqual({ 'easy-ham-1': 2500, 'easy-ham-2': 1400, 'hard-ham-1': 250, 'spam-1': 500, 'spam-2': 1396 });
    expect(new Set(mails.map((m) => m.id)).size).toBe(6046);
    const leaked = mails.filter((m) => /^(received|return-path|x-spam-[a-z]+|delivered-to|message-id):/i.test(m.text));
    expect(leaked).toEqual([]);
    const empty = mails.filter((m) => m.body === '').length;
    expect(empty).toBeLessThan(60);
    expect(mails.every((m) => (m.label === 'spam') === (m.hardness === null))).toBe(true);
  });

  it('Moby Dick: etymology, extracts, 135 chapters and the epilogue, with paragraphs', () => {
    const sections = loadMobyDick();
    expect(sections).toHaveLength(138);
    expect(sections.map((s) => s.id).slice(0, 3)).toEqual(['Etymology', 'Extracts', '1']);
    expect(sections.filter((s) => s.number !== null).map((s) => s.number)).toEqual(Array.from({ length: 135 }, (_, i) => i + 1));
    expect(sections[2].paragraphs[0].startsWith('Call me Ishmael.')).toBe(true);
  });

  it('SOTU: 233 addresses from 1790 to 2021 with unique ids', () => {
    const speeches = loadSotu();
    expect(speeches).toHaveLength(233);
    expect(speeches[0]).toMatchObject({ year: 1790, president: 'George Washington', party: 'none' });
    expect(speeches[232].year).toBe(2021);
    expect(new Set(speeches.map((s) => s.id)).size).toBe(233);
  });
});

describe('text tasks', () => {
  it('spam: every mail once, disjoint splits, no duplicate text across splits, balanced spam share', () => {
    const task = text('spam');
    expect(intersect(task.train.inputs, task.test.inputs)).toEqual([]);
    expect(intersect(task.validation.inputs, task.test.inputs)).toEqual([]);
    expect(sizes(task).reduce((a, b) => a + b, 0)).toBe(6046);
    expect(new Set(SPLITS.flatMap((s) => task[s].ids)).size).toBe(6046);
    const overall = 1896 / 6046;
    // Duplicate groups move as units, so shares drift a little from exact stratification.
    for (const s of SPLITS) expect(Math.abs(labelShares(task[s], 2)[1] - overall)).toBeLessThan(0.02);
    expect(task.train.inputs[0]).toBe(loadSpamAssassin().find((m) => `spam-assassin:${m.id}` === task.train.ids[0])?.text);
  });

  it('ham-hardness: ham only, with the hard minority in every split', () => {
    const task = text('ham-hardness');
    expect(sizes(task).reduce((a, b) => a + b, 0)).toBe(4150);
    for (const s of SPLITS) {
      expect(task[s].ids.every((id) => id.includes('ham'))).toBe(true);
      expect(labelShares(task[s], 2)[1]).toBeGreaterThan(0.05);
    }
  });

  it('sotu tasks: the documented classes, both represented in every split', () => {
    const century = text('sotu-century');
    expect(sizes(century).reduce((a, b) => a + b, 0)).toBe(201);
    const party = text('sotu-party');
    expect(sizes(party).reduce((a, b) => a + b, 0)).toBe(182);
    for (const task of [century, party]) {
      for (const s of SPLITS) {
        const share = labelShares(task[s], 2)[1];
        expect(share).toBeGreaterThan(0.3);
        expect(share).toBeLessThan(0.7);
      }
    }
    const years = new Map(loadSotu().map((s) => [`sotu:${s.id}`, s.year]));
    century.test.ids.forEach((id, i) => expect(century.test.labels[i]).toBe((years.get(id) as number) >= 1900 ? 1 : 0));
  });

  it('are deterministic for a seed and differ between seeds', () => {
    expect(text('sotu-party', { seed: 11 }).test.ids).toEqual(text('sotu-party', { seed: 11 }).test.ids);
    expect(text('sotu-party', { seed: 11 }).test.ids).not.toEqual(text('sotu-party', { seed: 12 }).test.ids);
  });
});

describe('textCorpus', () => {
  it('splits by document, disjointly and deterministically', () => {
    for (const name of ['moby-dick', 'sotu', 'spam-ham'] as const) {
      const parts = SPLITS.map((split) => textCorpus(name, { split }));
      expect(intersect(parts[0], parts[2])).toEqual([]);
      expect(intersect(parts[1], parts[2])).toEqual([]);
      expect(parts[2].length).toBeGreaterThan(0);
      expect(textCorpus(name, { split: 'test' })).toEqual(parts[2]);
    }
    expect(SPLITS.reduce((n, split) => n + textCorpus('moby-dick', { split }).length, 0)).toBe(138);
  });

  it('keeps the held-out mails of the spam task out of the ham pre-training text', () => {
    const task = text('spam', { seed: 2 });
    const heldOut = new Set(
      loadSpamAssassin()
        .filter((m) => task.test.ids.includes(`spam-assassin:${m.id}`) && m.label === 'ham')
        .map((m) => m.body),
    );
    const train = textCorpus('spam-ham', { split: 'train', seed: 2 });
    expect(train.filter((body) => heldOut.has(body))).toEqual([]);
  });

  it('returns paragraphs on request', () => {
    const docs = textCorpus('moby-dick', { split: 'validation' });
    const paragraphs = textCorpus('moby-dick', { split: 'validation', unit: 'paragraph' });
    expect(paragraphs.length).toBeGreaterThan(docs.length);
    expect(paragraphs.every((p) => !p.includes('\n\n') && p.trim() === p)).toBe(true);
  });

  it('rejects unknown corpora, splits and units', () => {
    expect(() => textCorpus('bible' as 'sotu', { split: 'train' })).toThrow(/unknown corpus/);
    expect(() => textCorpus('sotu', { split: 'dev' as 'test' })).toThrow(/split/);
    expect(() => textCorpus('sotu', { split: 'test', unit: 'line' as 'document' })).toThrow(/unit/);
  });
});
