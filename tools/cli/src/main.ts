import { Command, CommanderError } from 'commander';
import { PatchworkError } from '@patchwork/errors';
import { exitCodeFor } from './exit-codes';

// Commands load their modules when they run, so a local merge never loads gRPC, NATS or tfjs.
const commands = {
  mergeLocal: () => require('./commands/merge-local') as typeof import('./commands/merge-local'),
  mergeRemote: () => require('./commands/merge-remote') as typeof import('./commands/merge-remote'),
  train: () => require('./commands/train') as typeof import('./commands/train'),
  serve: () => require('./commands/serve') as typeof import('./commands/serve'),
  quickstart: () => require('./commands/quickstart') as typeof import('./commands/quickstart'),
  adapter: () => require('./commands/adapter') as typeof import('./commands/adapter'),
  eval: () => require('./commands/eval') as typeof import('./commands/eval'),
  compress: () => require('./commands/compress') as typeof import('./commands/compress'),
  backbone: () => require('./commands/backbone') as typeof import('./commands/backbone'),
  modelForward: () => require('./commands/model-forward') as typeof import('./commands/model-forward'),
  retrieve: () => require('./commands/retrieve') as typeof import('./commands/retrieve'),
  predict: () => require('./commands/predict') as typeof import('./commands/predict'),
};

function parsePositiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new PatchworkError('INVALID_ARGUMENT', `${name}: must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/** Builds the command tree; actions record their exit code in `result`. */
function program(env: NodeJS.ProcessEnv, result: { code: number }): Command {
  const root = new Command('patchwork')
    .description('Patchwork: compress, train, merge, evaluate and retrieve model patches')
    .exitOverride()
    // Options after a subcommand belong to it (`eval compare --out` is not `eval --out`).
    .enablePositionalOptions()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  root
    .command('serve')
    .description('run Patchwork services in this process (all five by default; embedded fabric unless NATS_URL is set)')
    .option('--only <services>', 'comma-separated subset: compress,train,merge,evaluate,retrieve')
    .option('--host <host>', 'gRPC bind address (PATCHWORK_GRPC_HOST, default 127.0.0.1)')
    .option('--port <port>', 'gRPC port (PATCHWORK_GRPC_PORT, default 50051)')
    .option('--data-dir <dir>', 'local state (PATCHWORK_DATA_DIR, default ~/.patchwork)')
    .option('--nats <urls>', 'NATS servers, comma-separated (NATS_URL)')
    .option('--metrics-port <port>', 'Prometheus /metrics port (PATCHWORK_METRICS_PORT)')
    .option('--no-workers', 'serve the API only; run no job workers')
    .action(async (flags) => {
      result.code = await commands.serve().serveCommand({ ...flags, noWorkers: flags.workers === false }, env);
    });

  root
    .command('merge')
    .description('merge checkpoints from a mergekit-style YAML recipe')
    .requiredOption('--config <file>', 'merge recipe (merge_method, base_model, models[].parameters, parameters, out_dtype)')
    .requiredOption('--out <dir>', 'output directory (Hugging Face layout)')
    .option('--remote <host:port>', 'run through the gRPC services instead of in this process')
    .option('--token <token>', 'bearer token for --remote (PATCHWORK_AUTH_TOKEN)')
    .option('--tls-ca <file>', 'CA bundle for a TLS --remote')
    .option('--request-id <id>', 'idempotency key for --remote (default: random)')
    .option('--max-shard-bytes <n>', 'largest output shard in bytes (local runs)')
    .option('--max-memory <bytes>', 'peak memory budget; tensors that do not fit are merged in row chunks (local runs)')
    .action(async (flags) => {
      const options = {
        config: flags.config as string,
        out: flags.out as string,
        maxShardBytes: flags.maxShardBytes ? parsePositiveInt(flags.maxShardBytes, '--max-shard-bytes') : undefined,
        maxMemoryBytes: flags.maxMemory ? parsePositiveInt(flags.maxMemory, '--max-memory') : undefined,
        requestId: flags.requestId as string | undefined,
      };
      if (flags.remote) {
        await commands.mergeRemote().mergeRemote(options, { address: flags.remote, token: flags.token ?? env['PATCHWORK_AUTH_TOKEN'], tlsCaFile: flags.tlsCa });
      } else {
        await commands.mergeLocal().mergeLocal(options);
      }
    });

  root
    .command('train')
    .description('train a patch (lora, adalora, hut, lst, list, muscle) or a full fine-tune from a YAML recipe')
    .requiredOption('--config <file>', 'recipe: method, base_model, task, parameters, data, trainer')
    .requiredOption('--out <dir>', 'receives adapter/ (model/ for method: full), metrics.json and checkpoints/')
    .option('--base <dir|backbone>', "overrides the recipe's base_model")
    .option('--resume', 'continue a run killed part way from <out>/checkpoints')
    .option('--data-dir <dir>', 'where named backbones are built and cached (PATCHWORK_DATA_DIR, default ~/.patchwork)')
    .option('--backend <name>', 'auto, tensorflow, webgpu, wasm or cpu (PATCHWORK_BACKEND)')
    .option('--remote <host:port>', 'run through the gRPC train service instead of in this process')
    .option('--token <token>', 'bearer token for --remote (PATCHWORK_AUTH_TOKEN)')
    .option('--tls-ca <file>', 'CA bundle for a TLS --remote')
    .option('--request-id <id>', 'idempotency key for --remote (default: random)')
    .action(async (flags) => {
      const options = { config: flags.config, out: flags.out, base: flags.base, resume: flags.resume === true, dataDir: flags.dataDir, backend: flags.backend ?? env['PATCHWORK_BACKEND'], requestId: flags.requestId };
      if (flags.remote) {
        await commands.train().trainRemote(options, { address: flags.remote, token: flags.token ?? env['PATCHWORK_AUTH_TOKEN'], tlsCaFile: flags.tlsCa });
      } else {
        await commands.train().trainLocal(options, env);
      }
    });

  root
    .command('quickstart')
    .description('boot the five services in this process (embedded default) and run the whole lifecycle through them; writes report.html')
    .option('--out <dir>', 'where the report, its figures and lifecycle.json go', 'patchwork-quickstart')
    .option('--data-dir <dir>', 'kept across runs (backbone cache): PATCHWORK_DATA_DIR, default ~/.patchwork')
    .option('--train-steps <n>', 'optimizer steps of each adapter (default 80)')
    .action(async (flags) => {
      await commands.quickstart().quickstart({ out: flags.out, dataDir: flags.dataDir, trainSteps: flags.trainSteps }, env);
    });

  const evalCmd = root
    .command('eval')
    .description('evaluate a model (and adapter) on a task; lm-evaluation-harness results and per-sample logs')
    .option('--model <dir>', 'model directory')
    .option('--adapter <dir>', 'PEFT adapter directory')
    .option('--task <name|file>', 'a registered task (digits, spam, sotu_party, moby_dick_ppl, ...) or a task YAML')
    .option('--out <file>', 'results JSON (samples_<task>.jsonl is written beside it)')
    .option('--limit <n>', 'only the first n documents')
    .option('--batch-size <n>', 'documents per forward (default 32)')
    .option('--backend <name>', 'auto, tensorflow, webgpu, wasm or cpu (PATCHWORK_BACKEND)')
    .action(async (flags) => {
      for (const required of ['model', 'task', 'out']) {
        if (!flags[required]) throw new PatchworkError('INVALID_ARGUMENT', `--${required}: required`);
      }
      await commands.eval().evalCommand({ ...flags, backend: flags.backend ?? env['PATCHWORK_BACKEND'] });
    });
  evalCmd
    .command('compare')
    .description('MUSCLE compatibility (negative/positive flips, ...) between two per-sample logs')
    .requiredOption('--old <file>', 'samples jsonl of the current version')
    .requiredOption('--new <file>', 'samples jsonl of the candidate')
    .requiredOption('--out <file>', 'report JSON')
    .action(async (flags) => {
      await commands.eval().evalCompareCommand(flags);
    });

  root
    .command('compress')
    .description('PELA: factorize every eligible linear layer to about 1/gamma of its weights (Hugging Face layout out)')
    .requiredOption('--model <dir>', 'dense model directory')
    .requiredOption('--gamma <g>', 'compression factor per layer (> 1; 2 keeps about half)')
    .option('--svd <method>', 'exact (LAPACK parity) or randomized (faster)', 'exact')
    .requiredOption('--out <dir>', 'output directory (absent or empty)')
    .option('--distill <dataset>', 'intermediate pre-training on a corpus (moby-dick, sotu, spam-ham) or task (digits, spam, ...)')
    .option('--steps <n>', 'distillation steps (with --distill)')
    .option('--batch-size <n>', 'distillation batch (default 8)')
    .option('--lr <x>', 'distillation AdamW learning rate (default 2.5e-4)')
    .option('--alpha <x>', 'feature-distillation weight (default 1)')
    .option('--beta <x>', 'weight-perturbation weight (default 1)')
    .option('--eps <x>', 'weight-perturbation target (default 1e-3)')
    .option('--task-weight <x>', 'task / LM loss weight (default 1)')
    .option('--checkpoint-dir <dir>', 'keep distillation checkpoints here; the same command resumes from them')
    .option('--backend <name>', 'auto, tensorflow, webgpu, wasm or cpu (PATCHWORK_BACKEND)')
    .action(async (flags) => {
      await commands.compress().compressCommand({ ...flags, backend: flags.backend ?? env['PATCHWORK_BACKEND'] });
    });

  root
    .command('backbone')
    .description('tiny pretrained backbones built from real data')
    .command('build')
    .description('build gpt2-tiny, bert-tiny or vit-digits (optionally the evolved text variant) in the Hugging Face layout')
    .requiredOption('--name <name>', 'gpt2-tiny, bert-tiny or vit-digits')
    .option('--evolved', 'continued pre-training on more text (text backbones)')
    .requiredOption('--out <dir>', 'output directory (absent or empty)')
    .option('--seed <n>', 'seed (same seed, same bytes on the same backend)')
    .option('--data-dir <dir>', 'build once under <dir>/backbones and reuse it')
    .option('--backend <name>', 'wasm (default), cpu, ...')
    .action(async (flags) => {
      await commands.backbone().backboneBuild({ ...flags, backend: flags.backend ?? env['PATCHWORK_BACKEND'] });
    });

  const model = root.command('model').description('work with Hugging Face checkpoints');
  model
    .command('forward')
    .description('run a forward pass: writes logits and hidden_states.K (K = 0..num_layers) like transformers')
    .requiredOption('--model <dir>', 'checkpoint directory (config.json + safetensors, sharded or not)')
    .requiredOption('--inputs <file>', 'safetensors with input_ids (+ attention_mask, token_type_ids) or pixel_values')
    .requiredOption('--out <file>', 'output safetensors')
    .option('--backend <name>', 'auto, tensorflow, webgpu, wasm or cpu (PATCHWORK_BACKEND)')
    .action(async (flags) => {
      await commands.modelForward().modelForward({ model: flags.model, inputs: flags.inputs, out: flags.out, backend: flags.backend ?? env['PATCHWORK_BACKEND'] });
    });

  const adapter = root.command('adapter').description('work with PEFT-layout adapters (LoRA, AdaLoRA, HUT)');
  adapter
    .command('forward')
    .description('logits and hidden states with the adapter active')
    .requiredOption('--model <dir>', 'base checkpoint directory')
    .requiredOption('--adapter <dir>', 'adapter directory (adapter_config.json + adapter_model.safetensors)')
    .requiredOption('--inputs <file>', 'safetensors with input_ids (+ attention_mask) or pixel_values')
    .requiredOption('--out <file>', 'output safetensors')
    .option('--backend <name>', 'auto, tensorflow, webgpu, wasm or cpu (PATCHWORK_BACKEND)')
    .action(async (flags) => {
      await commands.adapter().adapterForward({ ...flags, backend: flags.backend ?? env['PATCHWORK_BACKEND'] });
    });
  adapter
    .command('merge')
    .description('write the base model with the adapter merged in (Hugging Face layout)')
    .requiredOption('--model <dir>', 'base checkpoint directory')
    .requiredOption('--adapter <dir>', 'adapter directory')
    .requiredOption('--out <dir>', 'output directory (must be empty or absent)')
    .action(async (flags) => {
      await commands.adapter().adapterMerge(flags);
    });

  adapter
    .command('combine')
    .description("combine LoRA adapters like PEFT's add_weighted_adapter")
    .requiredOption('--adapters <dirs...>', 'adapter directories')
    .requiredOption('--weights <numbers...>', 'one weight per adapter')
    .requiredOption('--method <name>', 'cat, linear, svd, ties, ties_svd, dare_linear, dare_ties, magnitude_prune, magnitude_prune_svd, ...')
    .option('--density <d>', 'fraction kept (ties, dare and magnitude_prune families)')
    .option('--svd-rank <r>', 'rank of *svd results (default: the largest input rank)')
    .option('--seed <n>', 'seed of the DARE masks')
    .requiredOption('--out <dir>', 'output adapter directory')
    .action(async (flags) => {
      await commands.adapter().adapterCombine(flags);
    });

  root
    .command('retrieve')
    .description("rank a MOS adapter set's task adapters for each input by content (training-free self-refined retrieval)")
    .requiredOption('--base <dir>', 'base model directory (a ViT the set was learnt on)')
    .requiredOption('--adapters <dirs...>', 'the MOS learner (router) directory and its task adapter directories')
    .requiredOption('--inputs <file>', 'safetensors with pixel_values [n, C, S, S]')
    .option('--out <file>', 'ranked adapters with scores per input, JSON (default: stdout)')
    .option('--top-k <n>', 'adapters listed per input (default: all)')
    .option('--backend <name>', 'auto, tensorflow, webgpu, wasm or cpu (PATCHWORK_BACKEND)')
    .action(async (flags) => {
      await commands.retrieve().retrieveCommand({ ...flags, backend: flags.backend ?? env['PATCHWORK_BACKEND'] });
    });

  root
    .command('predict')
    .description('logits through one adapter, or through the task adapter a MOS learner picks for each input')
    .requiredOption('--base <dir>', 'base model directory')
    .option('--adapter <dir>', 'adapter directory (PEFT LoRA/AdaLoRA/HUT or a MOS task adapter)')
    .option('--adapters <dirs...>', 'auto: the MOS learner directory and its task adapter directories')
    .requiredOption('--inputs <file>', 'safetensors with pixel_values (or input_ids for --adapter)')
    .requiredOption('--out <file>', 'output safetensors: logits (and task_ids, classes with --adapters)')
    .option('--backend <name>', 'auto, tensorflow, webgpu, wasm or cpu (PATCHWORK_BACKEND)')
    .action(async (flags) => {
      await commands.predict().predictCommand({ ...flags, backend: flags.backend ?? env['PATCHWORK_BACKEND'] });
    });

  return root;
}

/** Runs the CLI; resolves to the process exit code (2 for bad input, 1 for other failures). */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const result = { code: 0 };
  try {
    await program(env, result).parseAsync(argv);
    return result.code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    const error = PatchworkError.from(err);
    process.stderr.write(`patchwork: ${error.code}: ${error.message}\n`);
    return exitCodeFor(error);
  }
}
