import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import { readdirSync } from 'node:fs';

/**
 * Layer boundaries (docs/architecture.md). Domain libs are plain functions: statistics, detectors,
 * scoring, rule evaluation. They must stay runnable anywhere (a CLI, a worker, a test) and
 * deterministic, so they import no framework, no storage or network client, no file system, and
 * read neither the clock nor unseeded randomness: time and seeds come in as arguments.
 */
const DOMAIN_LIBS = ['drift', 'detectors', 'evaluation', 'poisoning', 'alerting', 'rag'];
const DEMO_LIBS = ['demo-models', 'demo-workspace'];

/**
 * Each PostgreSQL table has one owning lib (docs/architecture.md): only the owner names it in SQL
 * or holds its entity class. Another lib reads or changes that state through the owner's exported
 * service or port (ModelRegistry, RunQueue, AlertHistory, Outbox, ...), so a table can change
 * shape without a hunt through other libs. Migrations (libs/postgres/src/migrations) create every
 * table and are exempt. ClickHouse history tables are not in this list: their one writer is the
 * ingestor's sink, and reading history is what the API and Grafana are for.
 */
const TABLE_OWNERS = {
  registry: ['models', 'model_versions', 'datasets', 'dataset_samples', 'schedules', 'evaluation_runs'],
  alerter: ['alert_rules', 'alerts', 'alert_silences', 'notification_channels', 'notification_deliveries'],
  auth: ['api_keys'],
  outbox: ['event_outbox'],
};
/** The entity classes (values: a repository, a query builder, an insert) of each owning lib. */
const ENTITY_EXPORTS = {
  registry: [
    'Model',
    'ModelVersion',
    'Dataset',
    'DatasetSample',
    'Schedule',
    'EvaluationRun',
    'REGISTRY_ENTITIES',
  ],
  alerter: [
    'AlertRuleEntity',
    'AlertEntity',
    'SilenceEntity',
    'ChannelEntity',
    'DeliveryEntity',
    'ALERTING_ENTITIES',
  ],
  auth: ['ApiKey'],
};
const ALL_LIBS = readdirSync(new URL('./libs', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

/**
 * SQL naming another lib's table, in a string or template literal: `FROM alerts`, `JOIN "alerts"`,
 * `UPDATE public.alerts`, `INSERT INTO alerts`, `ALTER TABLE alerts`. Keywords in capitals, as the
 * project writes SQL, so prose in a message ("samples from datasets") is not taken for a query.
 */
function foreignTableReferences(lib) {
  return Object.entries(TABLE_OWNERS)
    .filter(([owner]) => owner !== lib)
    .flatMap(([owner, tables]) => {
      const regex = `/\\b(FROM|JOIN|INTO|UPDATE|TABLE|TRUNCATE)\\s+("?public"?\\.)?"?(${tables.join('|')})\\b/`;
      const message = `This names a table of libs/${owner} (${tables.join(', ')}): a lib touches only its own tables; use the service or port libs/${owner} exports.`;
      return [
        { selector: `Literal[value=${regex}]`, message },
        { selector: `TemplateElement[value.raw=${regex}]`, message },
      ];
    });
}

/** Another lib's entity classes, as values (a type import of a returned shape is fine). */
function foreignEntityImports(lib) {
  return Object.entries(ENTITY_EXPORTS)
    .filter(([owner]) => owner !== lib)
    .map(([owner, importNames]) => ({
      name: `@tripline/${owner}`,
      importNames,
      allowTypeImports: true,
      message: `Entity classes of libs/${owner} stay in libs/${owner}: use the service or port it exports (a type-only import of a returned shape is fine).`,
    }));
}

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
  {
    ignores: ['dist/**', 'libs/*/dist/**', 'apps/*/dist/**', 'node_modules/**', '.cache/**', '.tripline/**'],
  },
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
    // Sizes a reader can hold in mind: a warning, not an error, so the known debt listed in
    // docs/architecture.md ("Known debt: sizes") stays visible on every lint run until it is paid.
    // Migrations are declarative tables (their statements in order) and are exempt.
    files: ['libs/**/*.ts', 'apps/**/*.ts'],
    ignores: ['libs/postgres/src/migrations/**', 'libs/clickhouse/src/migrations/**'],
    rules: {
      'max-lines': ['warn', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['warn', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  // One owner per table (TABLE_OWNERS): no other lib names it in SQL or holds its entity classes.
  ...ALL_LIBS.filter((lib) => !DOMAIN_LIBS.includes(lib)).map((lib) => ({
    files: [`libs/${lib}/**/*.ts`],
    ignores: ['libs/postgres/src/migrations/**'],
    rules: {
      'no-restricted-syntax': ['error', ...foreignTableReferences(lib)],
      '@typescript-eslint/no-restricted-imports': ['error', { paths: foreignEntityImports(lib) }],
    },
  })),
  {
    files: ['apps/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: foreignEntityImports(undefined) }],
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
  {
    // The line readers are loaded by the CLI without the server: no package, no Node module, no
    // other lib. They read any iterable of chunks; the caller opens the file or the request.
    files: ['libs/line-readers/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            leavingALib,
            {
              regex: '^(?!\\.)',
              message: 'libs/line-readers is dependency-free: take chunks as an argument, import nothing.',
            },
          ],
        },
      ],
    },
  },
);
