import type { TaskDocs } from '../tasks/docs';

/** Short English lines (Moby Dick, public domain) for in-memory text tasks. */
export const LINES = [
  'Call me Ishmael.',
  'Some years ago, never mind how long precisely, having little or no money in my purse,',
  'and nothing particular to interest me on shore,',
  'I thought I would sail about a little and see the watery part of the world.',
  'It is a way I have of driving off the spleen and regulating the circulation.',
  'Whenever I find myself growing grim about the mouth;',
  'whenever it is a damp, drizzly November in my soul;',
  'then, I account it high time to get to sea as soon as I can.',
  'This is my substitute for pistol and ball.',
  'There is nothing surprising in this.',
  'Circumambulate the city of a dreamy Sabbath afternoon.',
  'Go from Corlears Hook to Coenties Slip, and from thence, by Whitehall, northward.',
];

/** Text documents labelled by a simple rule (does the line contain a comma?). */
export function commaDocs(count = LINES.length): TaskDocs {
  return {
    inputKind: 'text',
    labelNames: ['plain', 'comma'],
    docs: LINES.slice(0, count).map((text, i) => ({ id: `line:${i}`, text, label: text.includes(',') ? 1 : 0 })),
  };
}

/** Grey square images with a deterministic pattern and labels 0..classes-1. */
export function patternImages(count: number, size: number, classes: number): TaskDocs {
  return {
    inputKind: 'image',
    labelNames: Array.from({ length: classes }, (_, k) => `c${k}`),
    imageShape: [size, size],
    docs: Array.from({ length: count }, (_, i) => ({
      id: `img:${i}`,
      pixels: Float32Array.from({ length: size * size }, (_, p) => Math.sin(0.37 * i + 0.11 * p * ((i % 3) + 1))),
      label: i % classes,
    })),
  };
}
