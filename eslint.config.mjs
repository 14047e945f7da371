// Lint: typescript-eslint's strict, type-checked rules over the whole tree (npm run lint, zero warnings).
// https://typescript-eslint.io/getting-started/typed-linting
// Every rule tuned below says why.
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['node_modules/', 'cdk.out/', '**/dist/', '.local/', 'coverage/', 'bench/results/'],
  },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // numbers in messages and keys (`shard ${id}`, `${ms} ms`) are the common, harmless case;
      // objects, undefined and null in a template stay errors
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `(x) => log(x)` for a callback that returns nothing is the idiom of this code base; braces
      // would add nothing. Void returned from a block or used as a value stays an error.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `_` marks a parameter or destructured field that is deliberately left out
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // the bound: no function in the deployed code longer than 80 lines
    files: ['ingestor/**/*.ts', 'lambdas/**/*.ts', 'lib/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // lib/ synthesizes without the ingestor's code: what both need lives in lib/contract
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/ingestor/src/**', '**/ingestor/src'], message: 'lib/ must not import the ingestor: move what both need into lib/contract' }] }],
    },
  },
  {
    // with noUncheckedIndexedAccess on, `!` after an index or a find in a test is the explicit
    // "this exists, or the test fails here" marker
    files: ['test/**/*.ts', '**/*.test.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    // plain JavaScript (configs, CommonJS helpers) is not in the TypeScript project
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', require: 'readonly', module: 'writable', __dirname: 'readonly' } },
  },
);
