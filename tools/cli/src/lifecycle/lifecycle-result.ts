/**
 * What one run of the Patchwork lifecycle (backbone -> compress -> train -> merge -> evaluate ->
 * retrieve) produced: the quickstart writes it as `lifecycle.json` and renders `report.html` from
 * it; the system test asserts on it. Plain JSON data only, so it round-trips through a file.
 */
export interface LifecycleResult {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly seconds: number;
  /** Where the services ran: `embedded` (one process, no NATS) or a NATS URL. */
  readonly fabric: string;
  readonly backbone: BackboneStep;
  readonly compress: CompressStep;
  readonly training: readonly TrainedAdapter[];
  readonly merge: MergeStep;
  readonly evaluation: EvaluationStep;
  readonly retrieval: RetrievalStep;
  /** Faults injected while the lifecycle ran (system test) and what followed. */
  readonly faults: readonly FaultRecord[];
}

export interface StepTiming {
  readonly jobId: string;
  readonly seconds: number;
}

export interface BackboneStep extends StepTiming {
  readonly name: string;
  readonly digest: string;
  readonly parameters: number;
}

export interface CompressStep extends StepTiming {
  readonly digest: string;
  readonly gamma: number;
  readonly paramsBefore: number;
  readonly paramsAfter: number;
  readonly flopsPerTokenBefore: number;
  readonly flopsPerTokenAfter: number;
  /** Per factored layer: its rank and relative Frobenius reconstruction error. */
  readonly layers: readonly { readonly module: string; readonly rank: number; readonly relError: number }[];
}

export interface CurvePoint {
  readonly step: number;
  readonly loss: number;
  readonly lr: number;
  /** Validation accuracy where the trainer evaluated at this step. */
  readonly evalAccuracy?: number;
}

export interface TrainedAdapter extends StepTiming {
  readonly task: string;
  readonly method: string;
  readonly digest: string;
  readonly trainableParameters: number;
  /** `eval_accuracy`, `test_accuracy`, `train_loss`, ... as the train job reported them. */
  readonly metrics: Readonly<Record<string, number>>;
  readonly curve: readonly CurvePoint[];
}

/** One merged model scored on every task: the comparison table's row. */
export interface MergeRow {
  readonly method: string;
  readonly digest: string;
  /** Test accuracy per task name. */
  readonly accuracy: Readonly<Record<string, number>>;
  /** Mean over tasks of accuracy / the task's own fine-tuned accuracy. */
  readonly normalizedAverage: number;
}

export interface MergeStep extends StepTiming {
  /** The merged model the rest of the lifecycle uses (PCB). */
  readonly digest: string;
  readonly method: string;
  readonly rows: readonly MergeRow[];
}

export interface EvaluationStep extends StepTiming {
  readonly task: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly gate: { readonly rule: string; readonly decision: 'promoted' | 'rejected'; readonly reasons: readonly string[] };
  /** MUSCLE compatibility of the new model against the old one on the same samples. */
  readonly compatibility: {
    readonly oldModel: string;
    readonly newModel: string;
    readonly samples: number;
    readonly negativeFlipRate: number;
    readonly positiveFlipRate: number;
    readonly oldAccuracy: number;
    readonly newAccuracy: number;
  };
}

export interface RetrievalStep extends StepTiming {
  /** Inputs routed to the right task's adapter, out of `inputs`. */
  readonly routedCorrectly: number;
  readonly inputs: number;
  /** Predictions through the routed adapter that matched the label. */
  readonly predictedCorrectly: number;
  /** Per adapter digest: how many inputs were routed to it. */
  readonly routes: Readonly<Record<string, number>>;
}

export interface FaultRecord {
  readonly at: string;
  /** e.g. `SIGKILL train worker pid 1234`, `restart nats-server`. */
  readonly injected: string;
  /** What the system did about it, as observed (job redelivered, attempt 2 finished, ...). */
  readonly observed: string;
}
