export { REDACTED, createLogger, nullLogger } from './logger';
export type { LogDestination, LogFn, LogLevel, Logger, LoggerOptions } from './logger';
export { formatPrettyLine } from './pretty';
export { createMetrics } from './metrics';
export type { GrpcLabel, JobMetrics, JobOutcomeLabel, JobTimer, Metrics, MetricsOptions } from './metrics';
export { startMetricsServer } from './metrics-server';
export type { MetricsServerOptions, RunningMetricsServer } from './metrics-server';
