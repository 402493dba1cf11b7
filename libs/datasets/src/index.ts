export { loadDigits, digitFeatures, DIGITS_COUNT } from './sources/digits';
export type { DigitsData } from './sources/digits';
export { loadSpamAssassin, SPAM_GROUPS } from './sources/spam-assassin';
export type { Mail, SpamGroup } from './sources/spam-assassin';
export { loadMobyDick } from './sources/moby-dick';
export type { MobyDickSection } from './sources/moby-dick';
export { loadSotu } from './sources/sotu';
export type { Party, Speech } from './sources/sotu';
export { normalizeMail } from './mail/normalize';
export type { NormalizedMail } from './mail/normalize';
export { mulberry32, deriveSeed, shuffleInPlace } from './random';
export { stratifiedSplit, DEFAULT_FRACTIONS, SPLIT_NAMES } from './split';
export type { IndexSplits, SplitFractions, SplitName, SplitOptions } from './split';
export { getTask, listTasks, loadTask, loadTaskSequence } from './tasks/registry';
export type {
  DataSource,
  ImageTaskSplits,
  RegisteredTask,
  Split,
  TaskDefinition,
  TaskOptions,
  TaskSequenceDefinition,
  TaskSplits,
  TextTaskSplits,
} from './tasks/types';
export { textCorpus, CORPUS_NAMES } from './corpus';
export type { CorpusName, TextCorpusOptions } from './corpus';
