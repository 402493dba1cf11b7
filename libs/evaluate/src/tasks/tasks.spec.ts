import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { withTempDir } from '@patchwork/tensor';
import { BUILTIN_TASK_DIR, listTaskConfigs, loadTaskConfig, parseTaskYaml } from './load-task-config';
import { parseTaskConfig } from './parse-task-config';
import { checkTemplate, renderTemplate } from './template';

const base = { task: 't', dataset: 'sotu-party', output_type: 'classification' };

describe('task configs', () => {
  it('loads every built-in YAML config', async () => {
    const names = await listTaskConfigs();
    expect(names).toEqual(expect.arrayContaining(['digits', 'spam', 'spam_mc', 'moby_dick_ppl', 'sotu_ppl', 'sotu_party', 'sotu_century_mc']));
    for (const name of names) {
      const config = await loadTaskConfig(name);
      expect(config.task).toBe(name);
      expect(config.metric_list.length).toBeGreaterThan(0);
    }
  });

  it('fills lm-eval defaults', () => {
    const mc = parseTaskConfig({ task: 'x', dataset: 'spam', output_type: 'multiple_choice' });
    expect(mc).toMatchObject({ split: 'test', target_delimiter: ' ', num_fewshot: 0, doc_to_text: '{{text}}', doc_to_choice: '{{label_names}}', doc_to_target: '{{label}}', metadata: { version: 1 } });
    expect(mc.metric_list.map((m) => m.metric)).toEqual(['acc', 'acc_norm']);
    const ppl = parseTaskConfig({ task: 'p', dataset: 'moby-dick', output_type: 'loglikelihood_rolling' });
    expect(ppl.dataset_kind).toBe('corpus');
    expect(ppl.doc_to_target).toBe('{{text}}');
    expect(ppl.metric_list.map((m) => m.metric)).toEqual(['word_perplexity', 'byte_perplexity', 'bits_per_byte']);
    expect(parseTaskConfig({ ...base, doc_to_text: 'text' }).doc_to_text).toBe('{{text}}');
  });

  it('keeps metric options and lm-eval aggregation names', () => {
    const c = parseTaskConfig({ ...base, metric_list: [{ metric: 'f1_macro', labels: 'all', aggregation: 'f1_macro', higher_is_better: true }, { metric: 'exact_match', ignore_case: true }] });
    expect(c.metric_list[0]).toEqual({ metric: 'f1_macro', aggregation: 'f1_macro', higher_is_better: true, kwargs: { labels: 'all' } });
    expect(c.metric_list[1].kwargs).toEqual({ ignore_case: true });
  });

  it('reports every problem at once, naming the fields', () => {
    let message = '';
    try {
      parseTaskConfig({ task: 'bad name!', dataset: 'nope', output_type: 'generate_until', split: 'dev', generation_kwargs: {}, colour: 1 });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const field of ['task:', 'dataset:', 'output_type:', 'split:', 'generation_kwargs:', 'colour:']) expect(message).toContain(field);
  });

  it('rejects metrics, datasets and templates that do not fit the task', () => {
    expect(() => parseTaskConfig({ ...base, metric_list: [{ metric: 'acc_norm' }] })).toThrow(/acc_norm does not apply to output_type classification/);
    expect(() => parseTaskConfig({ ...base, metric_list: [{ metric: 'acc' }, { metric: 'acc' }] })).toThrow(/listed twice/);
    expect(() => parseTaskConfig({ ...base, metric_list: [{ metric: 'mcc', aggregation: 'mean' }] })).toThrow(/aggregates by matthews_corrcoef/);
    expect(() => parseTaskConfig({ ...base, dataset: 'moby-dick' })).toThrow(/loglikelihood_rolling only/);
    expect(() => parseTaskConfig({ ...base, dataset: 'digits', output_type: 'multiple_choice' })).toThrow(/holds images/);
    expect(() => parseTaskConfig({ ...base, dataset: 'split-digits' })).toThrow(/task sequence/);
    expect(() => parseTaskConfig({ ...base, doc_to_text: '{{txt}}' })).toThrow(/unknown field \{\{txt\}\}/);
    expect(() => parseTaskConfig({ ...base, doc_to_text: '{{ text }' })).toThrow(/malformed/);
    expect(() => parseTaskConfig({ ...base, output_type: 'multiple_choice', doc_to_choice: '{{text}}' })).toThrow(/list of choice templates/);
    expect(() => parseTaskConfig({ ...base, output_type: 'multiple_choice', doc_to_choice: ['only'] })).toThrow(/at least two/);
    expect(() => parseTaskConfig({ ...base, num_fewshot: 5 })).toThrow(/zero-shot/);
    expect(() => parseTaskConfig({ ...base, dataset_kwargs: { unit: 'paragraph' } })).toThrow(/corpora only/);
  });

  it('parses YAML strictly and checks that a named file defines that task', async () => {
    expect(() => parseTaskYaml('task: a\ntask: b\n')).toThrow(/not valid YAML/);
    await withTempDir(async (dir) => {
      await fs.writeFile(path.join(dir, 'mine.yaml'), 'task: other\ndataset: spam\noutput_type: classification\n');
      await expect(loadTaskConfig('mine', { taskDirs: [dir] })).rejects.toThrow(/defines task "other"/);
      await expect(loadTaskConfig(path.join(dir, 'mine.yaml'))).resolves.toMatchObject({ task: 'other' });
      await expect(loadTaskConfig('missing', { taskDirs: [dir, BUILTIN_TASK_DIR] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });
});

describe('templates', () => {
  it('fills placeholders, lists as JSON', () => {
    expect(renderTemplate('{{ text }}\nQ: {{label_name}}?', { text: 'hi', label_name: 'spam' })).toBe('hi\nQ: spam?');
    expect(renderTemplate('{{label}}', { label: 3 })).toBe('3');
  });

  it('allows a list field only as the whole template', () => {
    expect(() => checkTemplate('{{label_names}}', 'f', ['text'], ['label_names'])).not.toThrow();
    expect(() => checkTemplate('x {{label_names}}', 'f', ['text'], ['label_names'])).toThrow(/whole template/);
  });
});
