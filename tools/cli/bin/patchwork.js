#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npx patchwork` works right after `npm ci`
// with no build step; container images bundle instead.
'use strict';
const path = require('node:path');
process.env.TSX_TSCONFIG_PATH ??= path.resolve(__dirname, '../../../tsconfig.base.json');
require('tsx/cjs/api').register();
require('../src/main.ts')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
