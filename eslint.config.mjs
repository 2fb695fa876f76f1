// ESLint for the whole workspace (`npm run lint`). Besides the usual TypeScript checks it keeps
// the architecture of docs/design.md true:
// - dependencies point one way, apps -> libs -> kernels, along the Nx tags in each project.json
//   (@nx/enforce-module-boundaries; the allowed edges are the table below and in docs/design.md);
// - only @rapo/kernels loads the native addon (no other project imports @rapo/native, a `.node`
//   file, the loader or the raw addon's type);
// - only @rapo/model imports TensorFlow.js (the benchmarks' tfjs reference aside).
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Which scopes each lib may import (direct imports; kernels sit at the bottom). */
const LAYERS = {
  'scope:files': [],
  'scope:random': [],
  'scope:report': [],
  'scope:cli': [],
  'scope:llm': [],
  'scope:kernels': [],
  'scope:psycot': ['scope:llm'],
  'scope:testbed': ['scope:llm', 'scope:psycot'],
  'scope:model': ['scope:kernels', 'scope:llm'],
  'scope:eval': ['scope:llm', 'scope:psycot', 'scope:testbed'],
  'scope:trainer': ['scope:kernels', 'scope:llm', 'scope:model', 'scope:psycot', 'scope:testbed'],
  'scope:study': ['scope:model', 'scope:trainer'],
};
/** Libraries every project may use: the small helpers at the very bottom, which import no @rapo library. */
const BASE = ['scope:files', 'scope:random', 'scope:report', 'scope:cli'];

const TFJS = ['@tensorflow/*'];

const rawAddonImports = {
  paths: [
    { name: '@rapo/native', message: 'Only @rapo/kernels loads the native addon; use the typed functions @rapo/kernels exports.' },
    {
      name: '@rapo/kernels',
      importNames: ['loadNative', 'RawAddon'],
      message: 'The raw addon stays inside @rapo/kernels; use its typed functions (tensor ops, matmul, the fused kernels).',
    },
  ],
  patterns: [
    { group: ['**/*.node'], message: 'Only @rapo/kernels loads the native addon.' },
    { group: ['@rapo/*/src/*', '@rapo/*/src/**'], message: 'Import a library by its package name (@rapo/x), not a file inside it.' },
  ],
};

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', '**/build/**', 'runs/**', '.ci/**', '.nx/**', 'native/build/**', 'coverage/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.js'],
    languageOptions: { globals: { ...globals.node } },
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-control-regex': 'off',
      '@nx/enforce-module-boundaries': [
        'error',
        {
          allow: [],
          enforceBuildableLibDependency: false,
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'], bannedExternalImports: TFJS },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:native'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', 'type:native'] },
            ...Object.entries(LAYERS).map(([tag, deps]) => ({
              sourceTag: tag,
              onlyDependOnLibsWithTags: [...new Set([...deps, ...(BASE.includes(tag) ? [] : BASE), ...(tag === 'scope:kernels' ? ['type:native'] : [])])],
              ...(tag === 'scope:model' ? {} : { bannedExternalImports: TFJS }),
            })),
          ],
        },
      ],
    },
  },
  // Each project's vitest.config.ts reads the workspace's shared settings from the root.
  { files: ['**/vitest.config.ts'], rules: { '@nx/enforce-module-boundaries': 'off' } },
  // The apps' bin launchers (npx rapo-train, ...) run in the checkout and build through its tools/run-app.mjs.
  { files: ['apps/*/bin/*.mjs'], rules: { '@nx/enforce-module-boundaries': 'off' } },
  // Everyone but @rapo/kernels reaches the addon through its typed API only.
  {
    files: ['**/*.ts', '**/*.mjs'],
    ignores: ['libs/kernels/**'],
    rules: { 'no-restricted-imports': ['error', rawAddonImports] },
  },
);
