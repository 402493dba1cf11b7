export { DEFAULT_TOP_K, RANKING_METRIC, RetrieveHandlers, createRetrieveServiceModule, retrieveServiceModule } from './retrieve-service';
export { DEFAULT_ADAPTER_BUDGET_BYTES, ServingPool } from './serving-pool';
export type { ServingPoolOptions } from './serving-pool';
export { adapterArtifacts, adapterRecordOf, adapterRecords, servableRecords, tagsOf } from './adapter-records';
export { MOS_ROLE_LABEL, MOS_ROUTER_LABEL, MOS_ROUTER_ROLE, MOS_TASK_LABEL, isMosRouter, mosRoutingFor, registerMosAdapterSet } from './mos-registry';
export type { MosRouting, RegisteredMosSet } from './mos-registry';
export { decodeInputs, disposeInputs, encodeLogits } from './tensor-blobs';
