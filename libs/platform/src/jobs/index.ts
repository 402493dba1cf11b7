export { JobRecords, isTerminal, newJobId } from './job-records';
export { JobManager } from './job-manager';
export type { SubmitOptions } from './job-manager';
export { JobWorker } from './job-worker';
export type { JobContext, JobHandler, JobOutcome, JobWorkerOptions, ProgressUpdate } from './job-worker';
export { jobEventSubject, publishJobEvent } from './events';
export type { JobEventType } from './events';
export type { JobLogger } from './logger';
export { silentLogger } from './logger';
