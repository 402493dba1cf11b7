export { CONFIG_ENV_VARS, SERVICE_NAMES, readPlatformConfig } from './platform-config';
export type { ConfigInput, PlatformConfig, ServiceName } from './platform-config';
