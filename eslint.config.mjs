import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

/**
 * Layer boundaries (docs/architecture.md). Domain libs are plain functions: statistics, detectors,
 * scoring, rule evaluation. They must stay runnable anywhere (a CLI, a worker, a test) and
 * deterministic, so they import no framework, no storage or network client, no file system, and
 * read neither the clock nor unseeded randomness: time and seeds come in as arguments.
 */
const DOMAIN_LIBS = ['drift', 'detectors', 'evaluation', 'poisoning', 'alerting', 'rag'];
const DEMO_LIBS = ['demo-models', 'demo-workspace'];

const leavingALib = {
  regex: '^(\\.\\./)+(libs/|apps/)?[\\w-]+/src(/|$)',
  message: 'Import another lib through its @tripline/ alias, never by a relative path out of this lib.',
};
const importingAnApp = {
  regex: '(^|/)apps/',
  message: 'Libs never import an app: apps compose libs, not the other way round.',
};
const demoImports = {
  group: DEMO_LIBS.map((lib) => `@tripline/${lib}`),
  message: 'Production code never depends on the demo: the demo depends on production code.',
};
const infrastructureImports = [
  '@nestjs/*',
  'typeorm',
  'pg',
  'kafkajs',
  '@clickhouse/*',
  'chdb',
  'express',
  'node:fs',
  'node:fs/*',
  'node:net',
  'node:http',
  'node:https',
  'node:dns',
  'node:child_process',
  'node:worker_threads',
  'fs',
  'fs/*',
  'net',
  'http',
  'https',
  'child_process',
];

export default tseslint.config(
  { ignores: ['dist/**', 'libs/*/dist/**', 'apps/*/dist/**', 'node_modules/**', '.cache/**', '.tripline/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [leavingALib, importingAnApp, demoImports] }],
    },
  },
  {
    files: DEMO_LIBS.map((lib) => `libs/${lib}/**/*.ts`),
    rules: {
      'no-restricted-imports': ['error', { patterns: [leavingALib, importingAnApp] }],
    },
  },
  {
    files: DOMAIN_LIBS.map((lib) => `libs/${lib}/**/*.ts`),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            leavingALib,
            importingAnApp,
            demoImports,
            {
              group: infrastructureImports,
              message:
                'Domain libs are plain functions: no framework, storage, network or file system. Take data as arguments and let a feature module do the I/O.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message: 'Domain logic is reproducible: take a seeded generator (libs/evaluation random.ts).',
        },
        {
          object: 'Date',
          property: 'now',
          message: 'Domain logic reads no clock: take the time as an argument.',
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'Domain logic reads no clock: take the time as an argument.',
        },
      ],
    },
  },
);
