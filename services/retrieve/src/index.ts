export { DEFAULT_TOP_K, RANKING_METRIC, RetrieveHandlers, retrieveServiceModule } from './retrieve-service';
export { DEFAULT_ADAPTER_BUDGET_BYTES, ServingPool } from './serving-pool';
export { adapterRecordOf, adapterRecords, tagsOf } from './adapter-records';
export { decodeInputs, disposeInputs, encodeLogits } from './tensor-blobs';
