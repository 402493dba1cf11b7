export { MERGE_JOB_KIND, mergeServiceModule, submitMerge } from './merge-service';
export { mergeConfigFromRequest } from './merge-request';
export { settingFromWire, settingToWire, settingsFromWire, settingsToWire } from './merge-settings';
