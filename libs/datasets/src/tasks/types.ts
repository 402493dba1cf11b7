import type { SplitFractions, SplitOptions } from '../split';

export type DataSource = 'digits' | 'spam-assassin' | 'sotu';

/** One split of a task: parallel arrays of example ids, inputs and integer labels. */
export interface Split<X> {
  /** Stable ids of the examples in their source (`digits:17`, `spam-assassin:spam-2/00001`, ...). */
  ids: string[];
  inputs: X[];
  /** Index into the task's `labelNames`. */
  labels: Int32Array;
}

interface TaskSplitsBase {
  name: string;
  labelNames: readonly string[];
  seed: number;
  fractions: SplitFractions;
}

export interface TextTaskSplits extends TaskSplitsBase {
  inputKind: 'text';
  train: Split<string>;
  validation: Split<string>;
  test: Split<string>;
}

export interface ImageTaskSplits extends TaskSplitsBase {
  inputKind: 'image';
  /** Images are 8 x 8, row-major; features are pixel / 16 unless `rawPixels` was asked for. */
  imageShape: readonly [number, number];
  train: Split<Float32Array>;
  validation: Split<Float32Array>;
  test: Split<Float32Array>;
}

export type TaskSplits = TextTaskSplits | ImageTaskSplits;

export interface TaskDefinition {
  kind: 'task';
  name: string;
  description: string;
  source: DataSource;
  inputKind: 'text' | 'image';
  labelNames: readonly string[];
}

/** An ordered series of tasks, e.g. for class-incremental learning. */
export interface TaskSequenceDefinition {
  kind: 'sequence';
  name: string;
  description: string;
  tasks: readonly string[];
}

export type RegisteredTask = TaskDefinition | TaskSequenceDefinition;

export interface TaskOptions extends SplitOptions {
  /** Image tasks: keep pixel values 0..16 instead of scaling them to [0, 1]. */
  rawPixels?: boolean;
}
