// The spam patch both measurement scripts train, and the one way they score it: gpt2-tiny reads a
// mail through its LM head, and the next token after the prompt is a label word.
import { type TextTaskSplits, loadTask } from '@patchwork/datasets';
import { ExampleSet, PromptTemplate, type SetEvaluation, evaluateSet, promptHead } from '@patchwork/finetune';
import { loadModel } from '@patchwork/models';
import { type AnyAdapter, loadAdapter } from '@patchwork/peft';
import { tf } from '@patchwork/tensor';
import { loadTokenizer } from '@patchwork/tokenizers';

export const SPAM_PROMPT = { template: '{text}\nThis mail is {mask}', label_words: ['good', 'free'] };

export interface SpamPatchSettings {
  steps: number;
  lr: number;
  seed: number;
  /** Tokens per mail, prompt included (the backbones' 64 positions at most). */
  maxLength: number;
}

/**
 * A trainFromConfig recipe: LoRA r = 8 on every linear of gpt2-tiny's blocks, the training split
 * capped at 2000 mails, no early stopping. Chosen on gpt2-tiny, 150 steps x 16, 64 tokens, seed 42
 * (test accuracy; majority class 69.6%): c_attn alone at lr 1e-2 or 2e-3 stays at the majority
 * class; all three projections at lr 3e-3 77.9%, at 6e-3 80.3% (full fine-tuning at 1e-3: 90.7%).
 */
export function spamLoraRecipe(s: SpamPatchSettings): Record<string, unknown> {
  return {
    method: 'lora',
    task: 'spam',
    prompt: SPAM_PROMPT,
    data: { max_length: s.maxLength, max_train_examples: 2000, max_eval_examples: 300 },
    parameters: { r: 8, lora_alpha: 16, target_modules: ['c_attn', 'c_proj', 'c_fc'] },
    trainer: { steps: s.steps, lr: s.lr, batch_size: 16, warmup: 0.1, schedule: 'linear', eval_every: s.steps, checkpoint_every: s.steps, seed: s.seed },
  };
}

export interface PromptClassifier {
  /** Predictions (0 ham, 1 spam) and, with labels, accuracy; the runner's encoding and head. */
  score(texts: readonly string[], labels?: Int32Array): SetEvaluation;
  /** The whole test split of `spam`, in its order. */
  scoreTestSplit(): SetEvaluation;
  dispose(): void;
}

/** A base model, optionally patched, read through the spam prompt exactly as trainFromConfig reads it. */
export async function promptClassifier(baseDir: string, adapterDir: string | undefined, maxLength: number): Promise<PromptClassifier> {
  const tokenizer = await loadTokenizer(baseDir);
  const template = PromptTemplate.create({ template: SPAM_PROMPT.template, labelWords: SPAM_PROMPT.label_words }, tokenizer, 'causal');
  const model = await loadModel(baseDir);
  let adapter: AnyAdapter | undefined;
  try {
    adapter = adapterDir === undefined ? undefined : await loadAdapter(adapterDir, model);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const head = promptHead(model, template);
  const forward = adapter ?? model;
  const score = (texts: readonly string[], labels: Int32Array = new Int32Array(texts.length)): SetEvaluation => {
    const set = new ExampleSet(
      template.encode(tokenizer, texts, maxLength),
      labels,
      texts.map((_, i) => String(i)),
      SPAM_PROMPT.label_words.length,
    );
    return evaluateSet(set, (b) => tf.tidy(() => head.logits(forward.forward(b.inputs, { outputHiddenStates: head.needsHiddenStates }), b)), 64);
  };
  return {
    score,
    scoreTestSplit: () => {
      const task = loadTask('spam') as TextTaskSplits;
      return score(task.test.inputs, task.test.labels);
    },
    dispose: () => {
      adapter?.dispose();
      model.dispose();
    },
  };
}
