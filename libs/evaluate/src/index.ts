// The curated public surface of @patchwork/evaluate: lm-eval-style tasks, metrics and results,
// sharded evaluation, MUSCLE compatibility, behaviour probes and promotion gates.

// Metrics
export { getMetric, listMetrics, DEFAULT_METRICS } from './metrics/registry';
export type { AggregationContext, MetricDefinition, MetricItem, MetricKwargs, OutputType, ScoredDoc } from './metrics/types';
export type { ClassCounts } from './metrics/confusion';
export { OUTPUT_TYPES } from './metrics/types';
export { aggregate } from './metrics/common';
export { codePointLength, normalisedChoice } from './metrics/acc-norm';
export { f1Score } from './metrics/f1';
export type { F1Options } from './metrics/f1';
export { matthewsCorrcoef } from './metrics/mcc';
export { exactMatch } from './metrics/exact-match';
export type { ExactMatchOptions } from './metrics/exact-match';
export { argmax } from './stats/argmax';
export { mean, meanStderr, sampleStddev } from './stats/moments';
export { BOOTSTRAP_CHUNK, DEFAULT_BOOTSTRAP_ITERS, bootstrapGroupStderrs, bootstrapStderrs } from './stats/bootstrap';
export type { BootstrapOptions, ResampledGroup, ResampledStatistic } from './stats/bootstrap';
export { PythonRandom } from './stats/python-random';

// Tasks
export type { DatasetKwargs, MetricSpec, TaskConfig } from './tasks/task-config';
export { docFields, parseTaskConfig } from './tasks/parse-task-config';
export { BUILTIN_TASK_DIR, listTaskConfigs, loadTaskConfig, parseTaskYaml } from './tasks/load-task-config';
export { loadTaskDocs, validateTaskDocs } from './tasks/docs';
export type { EvalDoc, TaskDocs } from './tasks/docs';
export { renderTemplate } from './tasks/template';

// Evaluation
export { evaluate } from './runner/evaluate';
export type { EvaluateOutput, EvaluateRunOptions } from './runner/evaluate';
export { evaluateShard } from './runner/evaluate-shard';
export type { EvaluateShardOptions } from './runner/evaluate-shard';
export type { EvaluateOptions, EvaluateProgress } from './runner/options';
export type { EvaluableAdapter, EvaluableModel } from './runner/evaluable';
export { modelMaxLength } from './runner/evaluable';
export type { SampleLog } from './runner/samples';
export { SHARD_FORMAT } from './runner/shard-result';
export type { ShardResult } from './runner/shard-result';
export { buildResults, serialiseConfig } from './runner/results';
export type { AggregateOptions, EvalResults } from './runner/results';
export { countBytes, countWords } from './lm/text-units';
export { encodePair, rollingWindows } from './lm/requests';
export { generate } from './lm/generate';
export type { GenerateOptions, Generation } from './lm/generate';
export type { TokenRequest } from './lm/requests';

// Scale-out
export { AUTO_SHARDS, MAX_AUTO_SHARD_SIZE, autoShardSize, checkShardRange, planShards, shardRange } from './shards/plan';
export { ResourceCache } from './cache/resource-cache';
export type { ResourceCacheOptions, ResourceCacheStats, ResourceLease } from './cache/resource-cache';
export type { ShardPlan, ShardRange } from './shards/plan';
export { reduceShards } from './shards/reduce';
export type { EvaluationOutput } from './shards/reduce';

// Compatibility between model versions (MUSCLE)
export { compareSamples, nfrReduction } from './compat/compare-samples';
export type { ComparableSample, CompareOptions, CompatibilityReport, FlipCounts, ScoreDifference } from './compat/compare-samples';

// Behaviour probes (Model Surgery)
export { pooledHiddenStates, resolveLayer } from './probes/pool';
export type { PoolOptions, Pooling, ProbeInputs } from './probes/pool';
export { trainProbe } from './probes/train-probe';
export type { ProbeTrainingResult, TrainProbeOptions } from './probes/train-probe';
export { behaviourRate } from './probes/behaviour-rate';
export type { BehaviourRate, BehaviourRateOptions } from './probes/behaviour-rate';
export { PROBE_FORMAT, checkProbe, probeDirection } from './probes/probe';
export type { BehaviourProbe } from './probes/probe';
export { loadProbe, saveProbe } from './probes/probe-io';
export { fitSoftmaxRegression } from './probes/softmax-regression';
export type { SoftmaxRegression, SoftmaxRegressionOptions } from './probes/softmax-regression';

// Promotion gate
export { GATE_OPS, evaluateGate, gateMetrics, parseGateRule } from './gate/gate';
export type { GateCondition, GateDecision, GateOp, GateRule } from './gate/gate';
