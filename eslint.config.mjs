import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import { readdirSync } from 'node:fs';

/**
 * The layers of libs/ (docs/architecture.md, "Layers"), lowest first. A lib lives in the folder of
 * its layer, libs/<layer>/<name>, and imports other libs only from the layers in `mayImport`:
 * dependencies point down, so a lower layer never learns who builds on it. `packages` are the npm
 * imports a layer refuses besides.
 */
const CLIENTS = ['@nestjs/*', 'typeorm', 'pg', 'kafkajs', '@clickhouse/*', 'chdb', 'express'];
const IO = [
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
const LAYERS = {
  kernel: {
    title: 'Kernel libs (wire contracts, retry)',
    mayImport: ['kernel'],
    why: 'every process and the published SDK load the kernel, so it builds on no other lib',
    packages: {
      group: CLIENTS,
      message:
        'Kernel libs are loaded by every process and by the published SDK: no framework, storage or bus client.',
    },
  },
  domain: {
    title: 'Domain libs',
    mayImport: ['kernel', 'domain'],
    why: 'domain libs are plain functions over data; take what a platform or feature lib knows as an argument',
    // Runnable anywhere (a CLI, a worker, a test) and deterministic: no framework, storage or
    // network client, no file system; the clock and unseeded randomness are refused below.
    packages: {
      group: [...CLIENTS, ...IO],
      message:
        'Domain libs are plain functions: no framework, storage, network or file system. Take data as arguments and let a feature module do the I/O.',
    },
  },
  platform: {
    title: 'Platform libs (infrastructure)',
    mayImport: ['kernel', 'domain', 'platform'],
    why: 'infrastructure serves every feature and knows none of them; move the shared piece down into platform or kernel',
  },
  features: {
    title: 'Feature libs',
    mayImport: ['kernel', 'domain', 'platform', 'features'],
    why: 'production code never depends on the demo (the demo depends on production code) or on the published SDK',
  },
  demo: {
    title: 'Demo libs',
    mayImport: ['kernel', 'domain', 'platform', 'features', 'demo'],
    why: 'the demo drives Tripline from outside, as a user would',
  },
  client: {
    title: 'Client libs (the published SDK)',
    mayImport: ['kernel', 'client'],
    why: 'it is packed on its own (libs/client/sdk/build.js) and runs inside a customer service, carrying only the kernel',
    packages: {
      group: CLIENTS.filter((name) => name !== 'kafkajs'),
      message:
        'The published SDK runs inside a customer service: no framework or storage client (kafkajs is its optional peer).',
    },
  },
};
/**
 * Each PostgreSQL table has one owning lib (docs/architecture.md): only the owner names it in SQL
 * or holds its entity class. Another lib reads or changes that state through the owner's exported
 * service or port (ModelRegistry, RunQueue, AlertHistory, Outbox, ...), so a table can change
 * shape without a hunt through other libs. Migrations (libs/platform/postgres/src/migrations) create every
 * table and are exempt. ClickHouse history tables are not in this list: their one writer is the
 * ingestor's sink, and reading history is what the API and Grafana are for.
 */
const TABLE_OWNERS = {
  registry: ['models', 'model_versions', 'datasets', 'dataset_samples', 'schedules'],
  runs: ['evaluation_runs'],
  alerts: ['alert_rules', 'alerts', 'alert_silences', 'notification_channels', 'notification_deliveries'],
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
    'REGISTRY_ENTITIES',
  ],
  runs: ['EvaluationRun', 'RUN_ENTITIES'],
  alerts: [
    'AlertRuleEntity',
    'AlertEntity',
    'SilenceEntity',
    'ChannelEntity',
    'DeliveryEntity',
    'ALERTING_ENTITIES',
  ],
  auth: ['ApiKey'],
};
/** Every lib as its folder under libs/ (`<layer>/<name>`), read from the tree so a new lib is covered. */
const subfolders = (url) =>
  readdirSync(url, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
const ALL_LIBS = subfolders(new URL('./libs', import.meta.url)).flatMap((layer) => {
  if (!(layer in LAYERS))
    throw new Error(
      `libs/${layer} is not a layer folder: a lib lives in libs/<layer>/<name>, layer one of ${Object.keys(LAYERS).join(', ')} (docs/architecture.md, "Layers").`,
    );
  return subfolders(new URL(`./libs/${layer}`, import.meta.url)).map((name) => ({ layer, name }));
});

/** libs/<layer>/<name> of a lib named by its alias. */
const libPath = (name) => `libs/${ALL_LIBS.find((lib) => lib.name === name)?.layer}/${name}`;

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
      const message = `This names a table of ${libPath(owner)} (${tables.join(', ')}): a lib touches only its own tables; use the service or port ${libPath(owner)} exports.`;
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
      message: `Entity classes of ${libPath(owner)} stay in ${libPath(owner)}: use the service or port it exports (a type-only import of a returned shape is fine).`,
    }));
}

const leavingALib = {
  regex: '^(\\.\\./)+([\\w-]+/)*[\\w-]+/src(/|$)',
  message: 'Import another lib through its @tripline/ alias, never by a relative path out of this lib.',
};
const importingAnApp = {
  regex: '(^|/)apps/',
  message: 'Libs never import an app: apps compose libs, not the other way round.',
};
const importingTestSupport = {
  group: ['@tripline/testing', '@tripline/testing/*'],
  message: 'Libs never import the test support (test/support): tests build on libs, not the other way round.',
};

/** The libs of the layers `layer` may not import, each layer's as one group with the reason. */
function layerBoundaries(layer) {
  const { title, mayImport, why } = LAYERS[layer];
  return Object.keys(LAYERS)
    .filter((other) => !mayImport.includes(other))
    .map((other) => ({
      group: ALL_LIBS.filter((lib) => lib.layer === other).flatMap(({ name }) => [
        `@tripline/${name}`,
        `@tripline/${name}/*`,
      ]),
      message: `${title} import no ${other} lib (libs/${other}): ${why}.`,
    }))
    .filter(({ group }) => group.length > 0);
}

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'libs/*/*/dist/**',
      'apps/*/dist/**',
      'node_modules/**',
      '.cache/**',
      '.tripline/**',
    ],
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
  // The layers (LAYERS): what each layer's libs may import; no lib leaves itself by a relative path
  // or imports an app or the test support.
  ...Object.entries(LAYERS).map(([layer, { packages }]) => ({
    files: [`libs/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            leavingALib,
            importingAnApp,
            importingTestSupport,
            ...layerBoundaries(layer),
            ...(packages ? [packages] : []),
          ],
        },
      ],
    },
  })),
  {
    // Sizes a reader can hold in mind, as errors: a new file over 400 lines or function over 80
    // fails the lint. Migrations are declarative tables (their statements in order) and are exempt.
    files: ['libs/**/*.ts', 'apps/**/*.ts'],
    ignores: ['libs/platform/postgres/src/migrations/**', 'libs/platform/clickhouse/src/migrations/**'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  // One owner per table (TABLE_OWNERS): no other lib names it in SQL or holds its entity classes.
  ...ALL_LIBS.filter(({ layer }) => layer !== 'domain').map(({ layer, name: lib }) => ({
    files: [`libs/${layer}/${lib}/**/*.ts`],
    ignores: ['libs/platform/postgres/src/migrations/**'],
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
    // Domain logic is deterministic: time and seeds come in as arguments.
    files: ['libs/domain/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message:
            'Domain logic is reproducible: take a seeded generator (libs/domain/evaluation random.ts).',
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
      // Domain functions report through their results and progress callbacks; a stray print is a
      // debugging leftover that would reach the user's terminal or the service logs.
      'no-console': 'error',
    },
  },
  {
    // The line readers are loaded by the CLI without the server: no package, no Node module, no
    // other lib. They read any iterable of chunks; the caller opens the file or the request.
    files: ['libs/kernel/line-readers/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            leavingALib,
            {
              regex: '^(?!\\.)',
              message: 'libs/kernel/line-readers is dependency-free: take chunks as an argument, import nothing.',
            },
          ],
        },
      ],
    },
  },
);
