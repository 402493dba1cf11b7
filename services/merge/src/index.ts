export { MERGE_JOB_KIND, mergeServiceModule, submitMerge } from './merge-service';
export { mergeConfigFromRequest } from './merge-request';
