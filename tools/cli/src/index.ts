export { main } from './main';
export { connectLifecycle } from './lifecycle/clients';
export type { LifecycleClients, LifecycleService } from './lifecycle/clients';
export { LIFECYCLE_TASKS, runLifecycle } from './lifecycle/run-lifecycle';
export type { LifecycleOptions } from './lifecycle/run-lifecycle';
export type * from './lifecycle/lifecycle-result';
export { renderReport } from './report';
