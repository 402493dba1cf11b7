// Lint is where the layering of ARCHITECTURE.md section 1 is enforced: a back-edge fails here.
const nx = require('@nx/eslint-plugin');
const tseslint = require('typescript-eslint');

const T = (t) => `type:${t}`;

module.exports = [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/src/gen/**', '**/.nx/**', '**/*.js'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { sourceType: 'module' } },
    plugins: { '@nx': nx, '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: T('util'), onlyDependOnLibsWithTags: [T('util')] },
            { sourceTag: T('contracts'), onlyDependOnLibsWithTags: [] },
            { sourceTag: T('tensor'), onlyDependOnLibsWithTags: [T('util')] },
            { sourceTag: T('models'), onlyDependOnLibsWithTags: [T('tensor'), T('util')] },
            { sourceTag: T('method'), onlyDependOnLibsWithTags: [T('method'), T('models'), T('tensor'), T('util')] },
            { sourceTag: T('platform'), onlyDependOnLibsWithTags: [T('contracts'), T('util')] },
            {
              sourceTag: T('service'),
              onlyDependOnLibsWithTags: [T('platform'), T('contracts'), T('method'), T('models'), T('tensor'), T('util')],
            },
            {
              sourceTag: T('tool'),
              onlyDependOnLibsWithTags: [T('service'), T('platform'), T('contracts'), T('method'), T('models'), T('tensor'), T('util')],
            },
            {
              sourceTag: T('test'),
              onlyDependOnLibsWithTags: [T('tool'), T('service'), T('platform'), T('contracts'), T('method'), T('models'), T('tensor'), T('util')],
            },
          ],
        },
      ],
    },
  },
];
