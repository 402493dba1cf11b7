// The curated public surface of @patchwork/retrieve: adapter search, MOS class-incremental
// retrieval, and the routing and serving primitives the retrieve service is wired from.

// Registry search
export type { AdapterEvaluation, AdapterRecord } from './registry/adapter-record';
export { higherIsBetter, metricValue, rankAdapters, resolveAdapter } from './registry/rank-adapters';
export type { AdapterQuery, AdapterRanking, MetricSelector, RankedAdapter, RefusedAdapter } from './registry/rank-adapters';

// MOS
export { MosLearner } from './mos/mos-learner';
export type { LabelledImages, LearnTaskOptions, LearnedTask, MosPrediction, MosState, PredictOptions, RetrievedTask } from './mos/mos-learner';
export { MOS_CONFIG_FILE, MOS_FORMAT_VERSION, MOS_PEFT_TYPE, MOS_WEIGHTS_FILE, loadMosLearner, saveMosLearner } from './mos/mos-io';
export { resolveMosOptions } from './mos/mos-options';
export type { MosOptions, MosOptionsInput, PrototypeSource } from './mos/mos-options';
export { BottleneckAdapter, DEFAULT_BOTTLENECK, adapterTensorNames } from './mos/bottleneck-adapter';
export type { BottleneckOptions } from './mos/bottleneck-adapter';
export { PrototypeClassifier } from './mos/prototype-classifier';
export { LinearHead } from './mos/linear-head';
export { ClassGaussian, cholesky } from './mos/class-gaussian';
export type { GaussianFitOptions } from './mos/class-gaussian';
export { alignClassifier, DEFAULT_ALIGNMENT } from './mos/align-classifier';
export type { AlignmentOptions } from './mos/align-classifier';
export { DEFAULT_TASK_TRAINING, crossEntropyOf, orthogonalityLoss, trainTask } from './mos/train-task';
export type { TaskTrainingOptions, TaskTrainingProgress, TrainTaskArgs } from './mos/train-task';
export { MOS_MAX_ITERATIONS, initialRefineState, refineStep, selfRefine } from './mos/self-refine';
export type { RefineState } from './mos/self-refine';
export { MOS_HEAD_MODULE, MosTaskAdapter } from './mos/mos-task-adapter';
export type { MosTaskAdapterArrays } from './mos/mos-task-adapter';
export { MOS_TASK_FORMAT_VERSION, MOS_TASK_PEFT_TYPE, loadMosTaskAdapter, readMosTaskConfig, readPeftType, saveMosAdapterSet, saveMosTaskAdapter, sha256OfFile } from './mos/mos-task-io';
export type { MosAdapterSetDirs, MosTaskConfig } from './mos/mos-task-io';
export { MosRouter, imagesOf, rankRoutedTasks } from './mos/mos-router';
export type { ImageRoute, RoutedAdapter, RoutedTask } from './mos/mos-router';
export { loadMosRouter } from './mos/mos-router-io';
export type { LoadedMosRouter } from './mos/mos-router-io';
export { featuresOf, vitFeatures } from './mos/features';
export { imageCount, imageGeometry, imageTensor, selectImages } from './mos/image-inputs';
export type { ImageGeometry, ImageInputs } from './mos/image-inputs';

// Routing and serving
export { AdapterCache } from './serving/adapter-cache';
export type { AdapterCacheOptions, AdapterCacheStats, AdapterLease } from './serving/adapter-cache';
export { RoutedPredictor } from './serving/routed-predictor';
export type { PredictBatchedStats, PredictRequest, PredictResult } from './serving/routed-predictor';
export { RowRoutedPatches } from './serving/row-routed-patches';
export type { RowSegment } from './serving/row-routed-patches';
export { DEFAULT_BATCHING, PredictBatcher, checkBatchingOptions } from './serving/predict-batcher';
export type { Announcement, BatcherStats, BatchingOptions } from './serving/predict-batcher';
export { loadServableAdapter } from './serving/load-servable';
export { adapterBytes } from './serving/servable-adapter';
export type { ServableAdapter } from './serving/servable-adapter';
export { batchSignature, checkModelInputs, concatInputs } from './serving/model-inputs';
export { TaskPrototypeRouter } from './routing/task-prototype-router';
export type { TaskExamples } from './routing/task-prototype-router';
