export { FIGURES_DIR, renderReport } from './render-report';
export type { RenderedReport } from './render-report';
export { validateLifecycleResult } from './validate-result';
