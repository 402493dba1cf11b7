// Entry of the bundled CLI (dist/patchwork.cjs) used in container images.
import { main } from './main';

void main(process.argv).then((code) => {
  process.exitCode = code;
});
