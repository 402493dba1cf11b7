export { TEST_BACKENDS, describeEachBackend } from './describe-each-backend';
export { withTempDir } from './temp-dir';
