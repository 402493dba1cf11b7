import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import { AdamW } from '../optim/adamw';
import { clipByGlobalNorm, globalNorm } from '../optim/clip';
import { lrSchedule } from '../optim/schedule';
import { Prng } from '../random/prng';
import { checkpointPath, listCheckpoints, readCheckpoint, removeCheckpoints, removeStaleTemporaries, writeCheckpoint } from './checkpoint-store';
import { DataOrder } from './data-order';
import { EarlyStopping } from './early-stopping';
import { MemoryMeter } from './memory-meter';
import { type Metrics, type NormalizedTrainOptions, type TrainOptions, normalizeTrainOptions } from './options';
import { type EvalRecord, type RunRecipe, STATE_FORMAT, STATE_VERSION, type StepRecord, type TrainerState, assertSameRecipe, parseTrainerState, recipeOf } from './run-state';

/** Generator stream of the batch generator handed to the loss (epoch permutations use 1 + epoch). */
export const BATCH_STREAM = 0;

export interface TrainResult {
  /** Optimizer steps completed (less than `totalSteps` after early stopping). */
  readonly steps: number;
  readonly totalSteps: number;
  readonly stopReason: 'completed' | 'early_stopping';
  /** Loss of the last step, undefined when a resumed run had nothing left to do and no history. */
  readonly finalLoss?: number;
  readonly lossHistory: readonly StepRecord[];
  readonly evalHistory: readonly EvalRecord[];
  /** Best value of the early-stopping metric and its step. */
  readonly best?: { readonly step: number; readonly value: number };
  /** Sampled high-water mark of live tensor bytes during this call (see MemoryMeter). */
  readonly peakBytes: number;
  /** Wall time of this call. */
  readonly seconds: number;
  /** Training wall time of the whole run, earlier sessions included. */
  readonly trainSeconds: number;
  /** Training examples per second in this call. */
  readonly examplesPerSec: number;
  /** The checkpoint step this call continued from. */
  readonly resumedFromStep?: number;
  readonly lastCheckpoint?: string;
}

function assign(params: ReadonlyMap<string, tf.Variable>, tensors: ReadonlyMap<string, tf.Tensor>, path: string): void {
  const problems: string[] = [];
  for (const [name, v] of params) {
    const t = tensors.get(name);
    if (t === undefined) problems.push(`${name} is missing`);
    else if (t.shape.join() !== v.shape.join()) problems.push(`${name} has shape [${t.shape.join(', ')}], expected [${v.shape.join(', ')}]`);
  }
  if (problems.length > 0) throw new PatchworkError('FAILED_PRECONDITION', `checkpoint ${path} does not fit the parameters: ${problems.join('; ')}`);
  for (const [name, v] of params) v.assign(tensors.get(name) as tf.Tensor);
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * One training run (see {@link train}). Holds the mutable state that a checkpoint captures:
 * parameters (the caller's variables), AdamW moments, completed steps, the data cursor, the batch
 * generator, early-stopping counters and the histories.
 */
class Run {
  private readonly optimizer: AdamW;
  private readonly schedule;
  private readonly recipe: RunRecipe;
  private readonly vars: tf.Variable[];
  private readonly nameOfVar: Map<string, string>;
  private readonly meter = new MemoryMeter();
  private early?: EarlyStopping;
  private order: DataOrder;
  private batchRng: Prng;
  private step = 0;
  private lossHistory: StepRecord[] = [];
  private evalHistory: EvalRecord[] = [];
  private priorSeconds = 0;
  private resumedFromStep?: number;
  private lastCheckpoint?: { step: number; path: string };
  private readonly started = performance.now();
  private sessionStartStep = 0;

  constructor(private readonly o: NormalizedTrainOptions) {
    this.optimizer = new AdamW(o.params, o.optimizer);
    this.schedule = lrSchedule(o.schedule, o.totalSteps);
    const names = [...o.params.keys()];
    this.vars = [...o.params.values()];
    this.nameOfVar = new Map(this.vars.map((v, i) => [v.name, names[i]]));
    this.recipe = recipeOf(o, this.schedule.warmupSteps, names.filter((n) => this.optimizer.decays(n)));
    this.order = new DataOrder(o.seed, o.examples);
    this.batchRng = Prng.fromSeed(o.seed, BATCH_STREAM);
    if (o.earlyStopping !== undefined) this.early = new EarlyStopping(o.earlyStopping);
  }

  dispose(): void {
    this.optimizer.dispose();
  }

  async run(): Promise<TrainResult> {
    const o = this.o;
    if (o.checkpoint !== undefined) await this.prepareCheckpoints();
    this.sessionStartStep = this.step;
    let stopReason: TrainResult['stopReason'] = this.early?.shouldStop ? 'early_stopping' : 'completed';
    let window: number[] = [];
    while (this.step < o.totalSteps && stopReason === 'completed') {
      await yieldToEventLoop();
      const record = await this.trainStep();
      this.lossHistory.push(record);
      window.push(record.loss);
      const metrics = await this.maybeEvaluate();
      if (this.early?.shouldStop) stopReason = 'early_stopping';
      const last = this.step === o.totalSteps || stopReason !== 'completed';
      if (o.onProgress !== undefined && (this.step % o.progressEvery === 0 || metrics !== undefined || last)) {
        o.onProgress({ ...this.progressNumbers(), loss: window.reduce((s, x) => s + x, 0) / window.length, lr: record.lr, gradNorm: record.gradNorm, evalMetrics: metrics });
        window = [];
      }
      if (o.checkpoint !== undefined && (this.step % o.checkpoint.every === 0 || last)) await this.saveCheckpoint();
    }
    const sessionSeconds = (performance.now() - this.started) / 1000;
    const examples = (this.step - this.sessionStartStep) * o.batchSize * o.gradientAccumulationSteps;
    return {
      steps: this.step,
      totalSteps: o.totalSteps,
      stopReason,
      finalLoss: this.lossHistory.at(-1)?.loss,
      lossHistory: this.lossHistory,
      evalHistory: this.evalHistory,
      best: this.early?.state.best,
      peakBytes: this.meter.peakBytes,
      seconds: sessionSeconds,
      trainSeconds: this.priorSeconds + sessionSeconds,
      examplesPerSec: sessionSeconds > 0 ? examples / sessionSeconds : 0,
      resumedFromStep: this.resumedFromStep,
      lastCheckpoint: this.lastCheckpoint?.path,
    };
  }

  private progressNumbers(): { step: number; totalSteps: number; epoch: number; examplesPerSec: number; etaSec: number } {
    const o = this.o;
    const seconds = (performance.now() - this.started) / 1000;
    const done = this.step - this.sessionStartStep;
    const perStep = done > 0 ? seconds / done : 0;
    return {
      step: this.step,
      totalSteps: o.totalSteps,
      epoch: this.order.epochsDone,
      examplesPerSec: seconds > 0 ? (done * o.batchSize * o.gradientAccumulationSteps) / seconds : 0,
      etaSec: perStep * (o.totalSteps - this.step),
    };
  }

  /** Forward, backward and accumulation over the micro-batches of one step, then clip and update. */
  private async trainStep(): Promise<StepRecord> {
    const o = this.o;
    const accumulation = o.gradientAccumulationSteps;
    const cursorAtStart = this.order.cursor;
    const rngAtStart = this.batchRng.clone();
    let sum: Map<string, tf.Tensor> | undefined;
    let loss = 0;
    try {
      for (let micro = 0; micro < accumulation; micro++) {
        if (o.signal?.aborted) throw this.abortError();
        if (micro > 0) await yieldToEventLoop();
        const indices = this.order.next(o.batchSize);
        const { value, grads } = tf.variableGrads(() => {
          const l = o.loss({ indices, rng: this.batchRng, step: this.step, micro });
          if (!(l instanceof tf.Tensor) || l.rank !== 0) throw invalidArgument('loss', 'must return a scalar tensor');
          this.meter.sample();
          return (accumulation > 1 ? tf.div(l, accumulation) : l) as tf.Scalar;
        }, this.vars);
        loss += value.dataSync()[0];
        value.dispose();
        this.meter.sample();
        sum = this.accumulate(sum, grads);
      }
    } catch (e) {
      this.order.seek(cursorAtStart);
      this.batchRng = rngAtStart;
      if (sum !== undefined) tf.dispose([...sum.values()]);
      throw e;
    }
    const grads = sum as Map<string, tf.Tensor>;
    if (!Number.isFinite(loss)) {
      tf.dispose([...grads.values()]);
      throw new PatchworkError('FAILED_PRECONDITION', `training diverged: loss is ${loss} at step ${this.step + 1}; lower optimizer.lr, add warmup or clip gradients`, { retryable: false });
    }
    let gradNorm: number;
    let update = grads;
    if (o.maxGradNorm > 0) {
      const clipped = clipByGlobalNorm(grads, o.maxGradNorm);
      tf.dispose([...grads.values()]);
      update = clipped.grads;
      gradNorm = clipped.norm;
    } else {
      gradNorm = globalNorm(grads);
    }
    const lr = this.optimizer.baseLr * this.schedule.multiplier(this.step);
    try {
      this.optimizer.apply(update, lr);
      this.meter.sample();
    } finally {
      tf.dispose([...update.values()]);
    }
    this.step++;
    return { step: this.step, loss, lr, gradNorm };
  }

  private accumulate(sum: Map<string, tf.Tensor> | undefined, grads: tf.NamedTensorMap): Map<string, tf.Tensor> {
    const next = sum ?? new Map<string, tf.Tensor>();
    for (const [varName, g] of Object.entries(grads)) {
      if (g === null) continue;
      const name = this.nameOfVar.get(varName) as string;
      const previous = next.get(name);
      if (previous === undefined) next.set(name, g);
      else {
        next.set(name, tf.add(previous, g));
        previous.dispose();
        g.dispose();
      }
    }
    this.meter.sample();
    return next;
  }

  private async maybeEvaluate(): Promise<Metrics | undefined> {
    const e = this.o.evaluation;
    if (e === undefined) return undefined;
    const due = this.step % e.every === 0 || (this.step === this.o.totalSteps && e.atEnd !== false);
    if (!due) return undefined;
    const metrics = await e.run({ step: this.step });
    this.evalHistory.push({ step: this.step, metrics: { ...metrics } });
    if (this.early !== undefined && this.o.earlyStopping !== undefined) {
      const { metric } = this.o.earlyStopping;
      const value = metrics[metric];
      if (typeof value !== 'number' || Number.isNaN(value)) {
        throw invalidArgument('earlyStopping.metric', `${JSON.stringify(metric)} is not among the evaluation metrics (${Object.keys(metrics).join(', ') || 'none'})`);
      }
      this.early.update(this.step, value);
    }
    return metrics;
  }

  private abortError(): PatchworkError {
    const reason = this.o.signal?.reason;
    const why = reason instanceof Error ? `: ${reason.message}` : typeof reason === 'string' ? `: ${reason}` : '';
    return new PatchworkError('CANCELLED', `training cancelled after step ${this.step} of ${this.o.totalSteps}${why}`);
  }

  private trainerState(): TrainerState {
    const steps = this.optimizer.state.steps;
    return {
      format: STATE_FORMAT,
      version: STATE_VERSION,
      step: this.step,
      cursor: this.order.cursor,
      batchRng: [...this.batchRng.state],
      optimizerSteps: Object.fromEntries(steps),
      earlyStopping: this.early?.state,
      lossHistory: this.lossHistory,
      evalHistory: this.evalHistory,
      trainSeconds: this.priorSeconds + (performance.now() - this.started) / 1000,
      recipe: this.recipe,
    };
  }

  async saveCheckpoint(): Promise<string | undefined> {
    const c = this.o.checkpoint;
    if (c === undefined) return undefined;
    if (this.lastCheckpoint?.step === this.step) return this.lastCheckpoint.path;
    const { m, v } = this.optimizer.state;
    const moments = new Map<string, tf.Tensor>();
    for (const [name, t] of m) moments.set(`exp_avg.${name}`, t);
    for (const [name, t] of v) moments.set(`exp_avg_sq.${name}`, t);
    const extra = this.o.extraState?.save();
    const path = await writeCheckpoint(c.dir, this.step, { params: this.o.params, optimizer: moments, extra, state: this.trainerState() }, c.keep ?? 2);
    this.lastCheckpoint = { step: this.step, path };
    return path;
  }

  private async prepareCheckpoints(): Promise<void> {
    const c = this.o.checkpoint;
    if (c === undefined) return;
    await removeStaleTemporaries(c.dir);
    if (c.resume === false) {
      await removeCheckpoints(c.dir);
      return;
    }
    const steps = await listCheckpoints(c.dir);
    if (steps.length === 0) return;
    await this.restore(checkpointPath(c.dir, steps[steps.length - 1]));
  }

  private async restore(path: string): Promise<void> {
    const loaded = await readCheckpoint(path);
    try {
      const state = parseTrainerState(loaded.state, path);
      assertSameRecipe(state.recipe, this.recipe, path);
      assign(this.o.params, loaded.params, path);
      const m = new Map<string, tf.Tensor>();
      const v = new Map<string, tf.Tensor>();
      for (const name of Object.keys(state.optimizerSteps)) {
        const em = loaded.optimizer.get(`exp_avg.${name}`);
        const ev = loaded.optimizer.get(`exp_avg_sq.${name}`);
        if (em === undefined || ev === undefined) throw new PatchworkError('DATA_LOSS', `checkpoint ${path} lacks the AdamW moments of ${name}`);
        m.set(name, em);
        v.set(name, ev);
      }
      this.optimizer.loadState({ steps: new Map(Object.entries(state.optimizerSteps)), m, v });
      if (this.o.extraState !== undefined) {
        if (loaded.extra === undefined) throw new PatchworkError('FAILED_PRECONDITION', `checkpoint ${path} has no extra state, but this run keeps some`);
        this.o.extraState.load(loaded.extra);
      }
      this.order = new DataOrder(this.o.seed, this.o.examples, state.cursor);
      this.batchRng = Prng.fromState([...state.batchRng]);
      this.step = state.step;
      this.lossHistory = [...state.lossHistory];
      this.evalHistory = [...state.evalHistory];
      this.priorSeconds = state.trainSeconds;
      if (this.o.earlyStopping !== undefined) this.early = new EarlyStopping(this.o.earlyStopping, state.earlyStopping);
      this.resumedFromStep = state.step;
      this.lastCheckpoint = { step: state.step, path };
    } finally {
      for (const map of [loaded.params, loaded.optimizer, loaded.extra]) if (map !== undefined) tf.dispose([...map.values()]);
    }
  }
}

/**
 * Trains `params` to minimise `loss` with AdamW, a warmup/decay schedule, gradient accumulation
 * and global-norm clipping, in the manner of transformers' Trainer (see the README for the exact
 * semantics). Deterministic for a given seed and backend: the data order and the batch generator
 * come from `Prng`, and a run resumed from its checkpoint (`checkpoint.dir`) continues
 * bit-identically. When `signal` aborts, the run stops between micro-batches, writes a checkpoint
 * of the last completed step (if checkpointing is on) and rejects with CANCELLED.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const o = normalizeTrainOptions(options);
  for (const [name, v] of o.params) if (!v.trainable) throw invalidArgument(`params.${name}`, 'is not trainable');
  const run = new Run(o);
  try {
    return await run.run();
  } catch (e) {
    const err = PatchworkError.from(e);
    if (err.code === 'CANCELLED' && o.checkpoint !== undefined) {
      const path = await run.saveCheckpoint();
      throw new PatchworkError('CANCELLED', `${err.message}; resume from ${path}`, { cause: e });
    }
    throw err;
  } finally {
    run.dispose();
  }
}
