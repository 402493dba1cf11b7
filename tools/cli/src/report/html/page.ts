import type { LifecycleResult } from '../../lifecycle/lifecycle-result';
import type { ReportFigures } from '../figures/all-figures';
import { shortDigest } from '../svg/format';
import { text } from '../svg/markup';
import { compressSection } from './compress-section';
import { evaluationSection } from './evaluation-section';
import { faultsSection } from './faults-section';
import { h } from './markup';
import { mergeSection } from './merge-section';
import { retrievalSection } from './retrieval-section';
import { STYLES } from './styles';
import { summary } from './summary';
import { timingsSection } from './timings-section';
import { trainingSection } from './training-section';

/**
 * No scripts, no network: the policy forbids both, so even markup that slipped past escaping
 * could not run or phone home. Images are the figure files beside the page.
 */
const CSP = "default-src 'none'; img-src 'self' file:; style-src 'unsafe-inline'";

/** The whole report page, in lifecycle order. */
export function reportPage(result: LifecycleResult, f: ReportFigures): string {
  const head = h(
    'head',
    {},
    h('meta', { charset: 'utf-8' }),
    h('meta', { name: 'viewport', content: 'width=device-width, initial-scale=1' }),
    h('meta', { 'http-equiv': 'Content-Security-Policy', content: CSP }),
    h('meta', { name: 'generator', content: 'patchwork' }),
    h('title', {}, text(`Patchwork lifecycle report \u00b7 ${result.startedAt}`)),
    h('style', {}, STYLES),
  );
  const main = h(
    'main',
    {},
    summary(result),
    trainingSection(result.training, f.trainingLoss, f.trainingAccuracy),
    mergeSection(result.merge, result.training, f.mergeNormalized, f.mergePerTask),
    evaluationSection(result.evaluation, f.compatibility),
    retrievalSection(result, f.retrieval),
    compressSection(result.compress, result.backbone.name, f.compress),
    faultsSection(result.faults),
    timingsSection(result, f.timings),
    h('footer', {}, text(`Backbone ${result.backbone.name} (${shortDigest(result.backbone.digest)}) \u00b7 merged model ${shortDigest(result.merge.digest)} \u00b7 rendered by patchwork`)),
  );
  return `<!DOCTYPE html>\n${h('html', { lang: 'en' }, head, h('body', {}, main))}\n`;
}
