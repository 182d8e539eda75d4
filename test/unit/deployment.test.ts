import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { environmentSchema, parseEnvironment } from '@tripline/config';

/**
 * The deployment files cannot be run here (no Docker engine, no Kubernetes, no Helm), so these
 * tests read them and check the wiring between them and the code: variable names the apps read,
 * ports they listen on, routes the probes hit, stores each app's root module actually uses.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const DEPLOY = path.join(ROOT, 'deploy');
const read = (...parts: string[]) => readFileSync(path.join(ROOT, ...parts), 'utf8');

type Env = Record<string, string>;
interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
}

const VARIABLES = new Set(Object.keys(environmentSchema.shape));
const DEFAULT_PORT = parseEnvironment({}).PORT;

/**
 * The distributed apps: every app folder with a Nest root module but the CLI and the all-in-one
 * standalone app. apps/console is the web console's browser bundle, served by the api.
 */
const APPS = readdirSync(path.join(ROOT, 'apps'))
  .filter((name) => !['cli', 'standalone'].includes(name))
  .filter((name) => existsSync(path.join(ROOT, 'apps', name, 'src', `${name}.module.ts`)))
  .sort();

/** What a root module wires in decides which store an app needs a URL for; unset means embedded. */
function storesOf(app: string) {
  const source = read('apps', app, 'src', `${app}.module.ts`);
  const imports = /imports:\s*\[([\s\S]*?)\]/.exec(source)?.[1] ?? '';
  return {
    clickHouse: /\bClickHouseModule\b/.test(imports),
    postgres: /\bPostgresModule\b/.test(imports),
    kafka: /\bTransportModule\b/.test(imports),
  };
}

/** The routes of the health controller, e.g. /health and /health/live. */
function healthRoutes(): Set<string> {
  const source = read('libs', 'platform', 'server', 'src', 'health.controller.ts');
  const base = /@Controller\('([^']+)'\)/.exec(source)![1];
  const routes = [...source.matchAll(/@Get\((?:'([^']*)')?\)/g)].map((match) =>
    `/${base}/${match[1] ?? ''}`.replace(/\/+$/, ''),
  );
  return new Set(routes);
}

/** Compose interpolation with the defaults in the file: ${X:-default} -> default, ${X} -> ''. */
function interpolate(value: string): string {
  return value
    .replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (_, _name: string, fallback?: string) => fallback ?? '')
    .replace(/\$\$/g, '$');
}

function envOf(service: ComposeService): Env {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(String(value))]),
  );
}

const seconds = (duration: string) => {
  const match = /^(\d+)(ms|s|m)$/.exec(duration);
  assert.ok(match, `duration ${duration}`);
  return Number(match[1]) * { ms: 0.001, s: 1, m: 60 }[match[2] as 'ms' | 's' | 'm'];
};

describe('deployment: Dockerfile', () => {
  const dockerfile = read('deploy', 'docker', 'Dockerfile');
  // Instructions, with continuation lines joined and comments dropped.
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
  const stages: { from: string; name?: string; lines: typeof instructions }[] = [];
  const args = new Map<string, string>();
  for (const instruction of instructions) {
    if (instruction.keyword === 'ARG' && stages.length === 0) {
      const [name, value] = instruction.args.split('=');
      args.set(name, value);
    }
    if (instruction.keyword === 'FROM') {
      const [image, , name] = instruction.args.split(/\s+/);
      stages.push({
        from: image.replace(/\$\{(\w+)\}/, (_, arg: string) => args.get(arg) ?? ''),
        name,
        lines: [],
      });
    } else stages.at(-1)?.lines.push(instruction);
  }
  const runtime = stages.at(-1)!;
  const has = (stage: (typeof stages)[number], keyword: string, pattern: RegExp) =>
    stage.lines.some((line) => line.keyword === keyword && pattern.test(line.args));

  it('builds in one stage and runs from a slim one with production dependencies only', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    const build = stages[0];
    assert.ok(has(build, 'RUN', /\bnpm ci\b/), 'npm ci');
    assert.ok(has(build, 'RUN', /\bnpm run build\b/), 'npm run build');
    assert.ok(has(build, 'RUN', /\bnpm prune --omit=dev\b/), 'dev dependencies pruned');
    assert.match(runtime.from, /slim/);
    for (const copied of ['dist', 'node_modules', 'package.json'])
      assert.ok(
        has(runtime, 'COPY', new RegExp(`--from=${build.name} /app/${copied}\\b`)),
        `runtime copies ${copied}`,
      );
    assert.ok(
      !has(runtime, 'RUN', /npm (ci|install|run build)/),
      'no install or compile in the runtime stage',
    );
  });

  it('uses a Node version the package supports', () => {
    const [, major, minor] = /node:(\d+)\.(\d+)/.exec(stages[0].from)!.map(Number);
    const [, wantMajor, wantMinor] = /(\d+)\.(\d+)/
      .exec(JSON.parse(read('package.json')).engines.node)!
      .map(Number);
    assert.ok(major > wantMajor || (major === wantMajor && minor >= wantMinor), `${major}.${minor}`);
    assert.equal(stages[0].from, runtime.from, 'the runtime runs on the Node it was built with');
  });

  it('copies only files that exist and are not excluded from the build context', () => {
    const ignored = read('deploy', 'docker', 'Dockerfile.dockerignore');
    for (const stage of stages) {
      for (const line of stage.lines.filter((l) => l.keyword === 'COPY' && !l.args.includes('--from='))) {
        const sources = line.args
          .split(/\s+/)
          .filter((part) => !part.startsWith('--'))
          .slice(0, -1);
        for (const source of sources) {
          assert.ok(existsSync(path.join(ROOT, source)), `COPY source ${source} exists`);
          const top = source.split('/')[0];
          const excluded = ignored.split('\n').some((rule) => rule.trim() === top);
          assert.ok(!excluded || ignored.includes(`!${source}`), `${source} is in the build context`);
        }
      }
    }
  });

  it('runs unprivileged on the port the apps listen on, with a liveness check on a real route', () => {
    assert.ok(
      runtime.lines.some((l) => l.keyword === 'USER' && !/^(root|0)$/.test(l.args)),
      'non-root USER',
    );
    assert.ok(has(runtime, 'EXPOSE', new RegExp(`^${DEFAULT_PORT}$`)), `EXPOSE ${DEFAULT_PORT}`);
    assert.ok(has(runtime, 'ENV', new RegExp(`PORT=${DEFAULT_PORT}\\b`)), `ENV PORT=${DEFAULT_PORT}`);
    const healthcheck = runtime.lines.find((l) => l.keyword === 'HEALTHCHECK')!.args;
    const route = /(\/health[^'"]*)/.exec(healthcheck)![1];
    assert.ok(healthRoutes().has(route), `HEALTHCHECK ${route} is a route`);
    assert.ok(has(runtime, 'ENV', /NODE_ENV=production/));
    const nodeEnv = parseEnvironment({ NODE_ENV: 'production' }).NODE_ENV;
    assert.equal(nodeEnv, 'production');
  });

  it('chooses the app by command through an entrypoint that knows every app', () => {
    const entrypoint = read('deploy', 'docker', 'entrypoint.sh');
    assert.ok(
      statSync(path.join(DEPLOY, 'docker', 'entrypoint.sh')).mode & 0o100,
      'entrypoint is executable',
    );
    assert.ok(
      has(runtime, 'COPY', /deploy\/docker\/entrypoint\.sh\s+\/usr\/local\/bin\/tripline-entrypoint/),
    );
    assert.ok(
      runtime.lines.some((l) => l.keyword === 'ENTRYPOINT' && l.args.includes('tripline-entrypoint')),
    );
    const names = /^\s*([a-z |]+)\)\s*$/m
      .exec(entrypoint)![1]
      .split('|')
      .map((name) => name.trim());
    assert.deepEqual(names.filter((name) => name !== 'standalone').sort(), APPS);
    // dist/apps/<app>/src/main.js is where tsc (rootDir ".", outDir "dist") puts each main.ts.
    const { compilerOptions } = JSON.parse(read('tsconfig.json'));
    assert.equal(compilerOptions.outDir, 'dist');
    assert.equal(compilerOptions.rootDir, '.');
    assert.match(entrypoint, /\/app\/dist\/apps\/\$app\/src\/main\.js/);
    for (const name of names) assert.ok(existsSync(path.join(ROOT, 'apps', name, 'src', 'main.ts')), name);
    assert.ok(existsSync(path.join(ROOT, 'apps', 'cli', 'src', 'main.ts')));
    assert.match(entrypoint, /\/app\/dist\/apps\/cli\/src\/main\.js/);
  });
});

describe('deployment: docker-compose.yml', () => {
  const compose = parseYaml(read('deploy', 'docker-compose.yml'), { merge: true }) as {
    services: Record<string, ComposeService>;
    volumes: Record<string, unknown>;
  };
  const { services } = compose;
  const appServices = Object.entries(services).filter(([, service]) =>
    APPS.includes(service.command?.[0] ?? ''),
  );

  it('runs every distributed app from the one image, chosen by command', () => {
    assert.deepEqual(appServices.map(([, service]) => service.command![0]).sort(), APPS);
    const images = new Set(appServices.map(([, service]) => service.image));
    assert.equal(images.size, 1);
    for (const [name, service] of appServices) {
      assert.equal(
        (service as { build?: { dockerfile: string } }).build?.dockerfile,
        'deploy/docker/Dockerfile',
        name,
      );
    }
  });

  it('gives the apps only variables the config schema knows, with valid values', () => {
    for (const [name, service] of appServices) {
      const env = envOf(service);
      for (const key of Object.keys(env))
        assert.ok(VARIABLES.has(key), `${name}: ${key} is not in environmentSchema`);
      assert.doesNotThrow(() => parseEnvironment(env), `${name}: environment does not parse`);
    }
  });

  it('points each app at every store its root module uses, and at no other', () => {
    for (const [name, service] of appServices) {
      const env = envOf(service);
      const stores = storesOf(service.command![0]);
      // An unset URL silently means an embedded store inside the container: data nobody else sees.
      assert.equal(Boolean(env.CLICKHOUSE_URL), stores.clickHouse, `${name}: CLICKHOUSE_URL`);
      assert.equal(Boolean(env.DATABASE_URL), stores.postgres, `${name}: DATABASE_URL`);
      assert.equal(Boolean(env.KAFKA_BROKERS), stores.kafka, `${name}: KAFKA_BROKERS`);
      const needs = [
        ...(stores.clickHouse ? ['clickhouse'] : []),
        ...(stores.postgres ? ['postgres'] : []),
        ...(stores.kafka ? ['kafka'] : []),
      ];
      assert.deepEqual(Object.keys(service.depends_on ?? {}).sort(), needs.sort(), `${name}: depends_on`);
      for (const store of needs) {
        assert.equal(service.depends_on![store].condition, 'service_healthy', `${name} waits for ${store}`);
        assert.ok(services[store].healthcheck, `${store} has a healthcheck`);
      }
    }
    assert.equal(
      storesOf('evaluator').clickHouse,
      false,
      'the design: evaluators never connect to ClickHouse',
    );
  });

  it('wires the store URLs to the store services, ports and credentials', () => {
    const kafka = envOf(services.kafka);
    const clickHouse = services.clickhouse.environment!;
    const postgres = services.postgres.environment!;
    const kafkaPort = /PLAINTEXT:\/\/:(\d+)/.exec(kafka.KAFKA_LISTENERS)![1];
    assert.match(kafka.KAFKA_ADVERTISED_LISTENERS, new RegExp(`PLAINTEXT://kafka:${kafkaPort}\\b`));
    for (const [name, service] of appServices) {
      const env = envOf(service);
      const raw = service.environment!;
      if (env.KAFKA_BROKERS) {
        assert.deepEqual(env.KAFKA_BROKERS.split(','), [`kafka:${kafkaPort}`], `${name}: KAFKA_BROKERS`);
        // A replication factor above the broker count makes topic creation fail at start-up.
        assert.ok(
          Number(env.KAFKA_REPLICATION_FACTOR ?? 1) <= 1,
          `${name}: replication factor vs one broker`,
        );
      }
      if (env.CLICKHOUSE_URL) {
        const url = new URL(env.CLICKHOUSE_URL);
        assert.equal(url.hostname, 'clickhouse');
        assert.equal(url.port, '8123', 'ClickHouse HTTP interface');
        assert.equal(env.CLICKHOUSE_USER, clickHouse.CLICKHOUSE_USER);
        assert.equal(
          raw.CLICKHOUSE_PASSWORD,
          clickHouse.CLICKHOUSE_PASSWORD,
          `${name}: same password expression`,
        );
        assert.equal(env.CLICKHOUSE_DATABASE ?? 'tripline', clickHouse.CLICKHOUSE_DB);
      }
      if (env.DATABASE_URL) {
        const url = new URL(String(raw.DATABASE_URL).replace(/\$\{[^}]+\}/, 'PASSWORD'));
        assert.equal(url.hostname, 'postgres');
        assert.equal(url.port, '5432');
        assert.equal(url.username, postgres.POSTGRES_USER);
        assert.equal(url.pathname, `/${postgres.POSTGRES_DB}`);
        assert.equal(/\$\{[^}]+\}/.exec(String(raw.DATABASE_URL))![0], postgres.POSTGRES_PASSWORD);
      }
    }
  });

  it('listens, exposes, publishes and health-checks on the port the apps use', () => {
    const routes = healthRoutes();
    for (const [name, service] of appServices) {
      const port = String(parseEnvironment(envOf(service)).PORT);
      assert.ok(service.expose?.map(String).includes(port), `${name}: expose ${port}`);
      for (const mapping of service.ports ?? [])
        assert.equal(String(mapping).split(':').at(-1), port, `${name}: published port ${mapping}`);
      const url = new URL(/http:\/\/[^'"]+/.exec(service.healthcheck!.test.join(' '))![0]);
      assert.equal(url.port, port, `${name}: healthcheck port`);
      assert.ok(routes.has(url.pathname), `${name}: healthcheck ${url.pathname} is a route`);
      // Compose kills after stop_grace_period; the app must have drained by then.
      assert.ok(
        seconds(service.stop_grace_period!) * 1000 > parseEnvironment(envOf(service)).SHUTDOWN_TIMEOUT_MS,
        `${name}: stop_grace_period > SHUTDOWN_TIMEOUT_MS`,
      );
    }
    assert.ok(services.api.ports?.length, 'the API is published');
  });

  it('scrapes every app replica on its port', () => {
    const prometheusMount = services.prometheus.volumes!.find((volume) => volume.includes('prometheus.yml'))!;
    const config = parseYaml(readFileSync(path.join(DEPLOY, prometheusMount.split(':')[0]), 'utf8')) as {
      scrape_configs: { metrics_path: string; dns_sd_configs: { names: string[]; port: number }[] }[];
    };
    const [job] = config.scrape_configs;
    assert.equal(job.metrics_path, '/metrics');
    const [discovery] = job.dns_sd_configs;
    assert.deepEqual([...discovery.names].sort(), appServices.map(([name]) => name).sort());
    for (const [, service] of appServices)
      assert.equal(discovery.port, parseEnvironment(envOf(service)).PORT, 'scrape port');
  });

  it('uses the store versions of the design', () => {
    assert.match(services.kafka.image!, /^apache\/kafka:3\.9\.\d+$/);
    const [, major, minor] = /^clickhouse\/clickhouse-server:(\d+)\.(\d+)/
      .exec(services.clickhouse.image!)!
      .map(Number);
    assert.ok(major > 24 || (major === 24 && minor >= 8), 'ClickHouse >= 24.8');
    assert.match(services.postgres.image!, /^postgres:16\b/);
    assert.equal(envOf(services.kafka).KAFKA_PROCESS_ROLES, 'broker,controller', 'KRaft, no ZooKeeper');
  });

  it('declares every named volume and mounts only files that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const [source] = volume.split(':');
        if (source.startsWith('.') || source.startsWith('/')) {
          assert.ok(existsSync(path.resolve(DEPLOY, source)), `${name}: bind mount ${source} exists`);
        } else {
          assert.ok(source in (compose.volumes ?? {}), `${name}: volume ${source} is declared`);
        }
      }
    }
    const used = new Set(
      Object.values(services).flatMap((service) => (service.volumes ?? []).map((v) => v.split(':')[0])),
    );
    for (const declared of Object.keys(compose.volumes))
      assert.ok(used.has(declared), `volume ${declared} is used`);
  });

  it('provisions Grafana with the ClickHouse plugin, the datasources and the dashboards', () => {
    const grafana = services.grafana;
    const env = envOf(grafana);
    assert.match(env.GF_INSTALL_PLUGINS, /\bgrafana-clickhouse-datasource\b/);
    const mounts = new Map(
      grafana.volumes!.map((volume) => volume.split(':')).map(([from, to]) => [to, from]),
    );
    assert.equal(
      mounts.get('/etc/grafana/provisioning/datasources'),
      '../dashboards/provisioning/datasources',
    );
    assert.equal(mounts.get('/etc/grafana/provisioning/dashboards'), '../dashboards/provisioning/dashboards');
    const provider = parseYaml(read('dashboards', 'provisioning', 'dashboards', 'tripline.yaml')) as {
      providers: { options: { path: string } }[];
    };
    const dashboardsPath = provider.providers[0].options.path;
    assert.equal(
      mounts.get(dashboardsPath),
      '../dashboards/tripline',
      'the provider path holds the dashboards',
    );
    assert.ok(env.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH.startsWith(`${dashboardsPath}/`));
    assert.ok(
      existsSync(
        path.join(
          ROOT,
          'dashboards',
          'tripline',
          path.basename(env.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH),
        ),
      ),
    );

    // Every variable the datasource file expands is set in Grafana's environment ...
    const datasources = read('dashboards', 'provisioning', 'datasources', 'clickhouse.yaml')
      .split('\n')
      .filter((line) => !line.trim().startsWith('#'))
      .join('\n');
    const expanded = [...datasources.matchAll(/\$\{(\w+)\}/g)].map((match) => match[1]);
    assert.ok(expanded.length > 0);
    for (const name of expanded) assert.ok(env[name], `grafana: ${name} is set`);
    assert.equal(env.TRIPLINE_CLICKHOUSE_HOST, 'clickhouse');
    assert.equal(new URL(env.TRIPLINE_PROMETHEUS_URL).hostname, 'prometheus');
    assert.equal(new URL(env.TRIPLINE_PROMETHEUS_URL).port, '9090');
    // ... and the read-only user it connects as is the one ClickHouse's init script creates.
    const initMount = services.clickhouse.volumes!.find((volume) =>
      volume.includes('docker-entrypoint-initdb.d'),
    )!;
    const initDirectory = path.resolve(DEPLOY, initMount.split(':')[0]);
    const script = readdirSync(initDirectory)
      .map((file) => readFileSync(path.join(initDirectory, file), 'utf8'))
      .join('\n');
    assert.match(script, new RegExp(`CREATE USER IF NOT EXISTS ${env.TRIPLINE_CLICKHOUSE_GRAFANA_USER}\\b`));
    assert.match(script, /GRANT SELECT ON tripline\.\*/);
    const passwordVariable = /BY '\$\{(\w+)\}'/.exec(script)![1];
    assert.equal(
      services.clickhouse.environment![passwordVariable],
      grafana.environment!.TRIPLINE_CLICKHOUSE_GRAFANA_PASSWORD,
      'Grafana uses the password the init script sets',
    );
  });
});

describe('deployment: operations guide', () => {
  const guide = read('docs', 'operations.md');

  it('lists only metrics the apps export, with their kind', () => {
    const exported = new Map<string, string>();
    const walk = (directory: string) => {
      for (const entry of readdirSync(directory, { withFileTypes: true })) {
        const full = path.join(directory, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith('.ts'))
          for (const [, kind, name] of readFileSync(full, 'utf8').matchAll(
            /\.(counter|gauge|histogram)\(\s*\{\s*name:\s*'([a-z0-9_]+)'/g,
          ))
            exported.set(name, kind);
      }
    };
    walk(path.join(ROOT, 'libs'));
    const rows = [...guide.matchAll(/^\|\s*`(tripline_[a-z0-9_]+)`\s*\|\s*(counter|gauge|histogram)\b/gm)];
    assert.ok(rows.length >= 8, 'the metrics table');
    for (const [, name, kind] of rows)
      assert.equal(exported.get(name), kind, `${name} is a ${kind} in the code`);
    for (const [expression] of guide.matchAll(/^\s*expr: .*$/gm)) {
      for (const [name] of expression.matchAll(/tripline_[a-z0-9_]+/g)) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        assert.ok(exported.has(name) || exported.get(base) === 'histogram', `alert rule uses ${name}`);
      }
    }
  });

  it('points at files that exist', () => {
    const paths = [...guide.matchAll(/`((?:apps|libs|deploy|dashboards|docs|test|bench)\/[^`\s]+)`/g)].map(
      (match) => match[1].replace(/\/$/, ''),
    );
    assert.ok(paths.length >= 5);
    for (const file of paths) assert.ok(existsSync(path.join(ROOT, file)), `${file} exists`);
  });
});

describe('deployment: Helm chart', () => {
  const chartDirectory = path.join(DEPLOY, 'helm', 'tripline');
  const chart = parseYaml(readFileSync(path.join(chartDirectory, 'Chart.yaml'), 'utf8')) as Record<
    string,
    string
  >;
  const values = parseYaml(readFileSync(path.join(chartDirectory, 'values.yaml'), 'utf8')) as {
    port: number;
    terminationGracePeriodSeconds: number;
    config: Env;
    secrets: Env;
    probes: Record<string, { path: string }>;
    apps: Record<string, { replicas: number; secretKeys: string[]; env: Env; enabled: boolean }>;
  };
  const templateDirectory = path.join(chartDirectory, 'templates');
  const templates = Object.fromEntries(
    readdirSync(templateDirectory).map((file) => [
      file,
      readFileSync(path.join(templateDirectory, file), 'utf8'),
    ]),
  );

  it('is a v2 chart versioned with the package', () => {
    assert.equal(chart.apiVersion, 'v2');
    assert.equal(chart.name, 'tripline');
    assert.match(chart.version, /^\d+\.\d+\.\d+$/);
    assert.equal(chart.appVersion, JSON.parse(read('package.json')).version);
  });

  it('deploys every distributed app, with several ingestor and evaluator replicas', () => {
    assert.deepEqual(Object.keys(values.apps).sort(), APPS);
    assert.ok(values.apps.ingestor.replicas >= 2);
    assert.ok(values.apps.evaluator.replicas >= 2);
    // Consumers beyond the partition count sit idle.
    assert.ok(Number(values.config.KAFKA_PARTITIONS) >= values.apps.ingestor.replicas);
  });

  it('configures through a ConfigMap and a Secret holding only variables the apps read', () => {
    for (const key of [...Object.keys(values.config), ...Object.keys(values.secrets)])
      assert.ok(VARIABLES.has(key), `${key} is not in environmentSchema`);
    assert.ok(!Object.keys(values.config).some((key) => Object.keys(values.secrets).includes(key)));
    for (const secret of ['TRIPLINE_ADMIN_KEY', 'CLICKHOUSE_PASSWORD', 'DATABASE_URL'])
      assert.ok(!(secret in values.config), `${secret} belongs in the Secret`);
    assert.match(
      templates['configmap.yaml'],
      /kind: ConfigMap[\s\S]*range \$key, \$value := \.Values\.config/,
    );
    assert.match(templates['secret.yaml'], /kind: Secret/);
    assert.match(templates['secret.yaml'], /required "secrets\.DATABASE_URL/, 'no silent embedded database');
    for (const key of Object.keys(values.secrets))
      assert.match(templates['secret.yaml'], new RegExp(`^  ${key}: .*\\.Values\\.secrets\\.${key}\\b`, 'm'));
  });

  it('gives each app the stores its root module uses, and valid configuration', () => {
    for (const [name, app] of Object.entries(values.apps)) {
      for (const key of Object.keys(app.env)) assert.ok(VARIABLES.has(key), `${name}: ${key}`);
      for (const key of app.secretKeys) assert.ok(key in values.secrets, `${name}: secret key ${key}`);
      const stores = storesOf(name);
      const env: Env = {
        ...values.config,
        ...Object.fromEntries(
          app.secretKeys.map((key) => [
            key,
            key === 'DATABASE_URL' ? 'postgres://u:p@db:5432/t' : 'x'.repeat(32),
          ]),
        ),
        ...app.env,
        PORT: String(values.port),
      };
      assert.doesNotThrow(() => parseEnvironment(env), `${name}: configuration does not parse`);
      if (stores.clickHouse) {
        assert.ok(values.config.CLICKHOUSE_URL, `${name} needs CLICKHOUSE_URL`);
        assert.ok(app.secretKeys.includes('CLICKHOUSE_PASSWORD'), `${name} needs CLICKHOUSE_PASSWORD`);
      } else {
        assert.ok(!app.secretKeys.includes('CLICKHOUSE_PASSWORD'), `${name} never connects to ClickHouse`);
      }
      assert.equal(app.secretKeys.includes('DATABASE_URL'), stores.postgres, `${name}: DATABASE_URL`);
      if (stores.kafka) assert.ok(values.config.KAFKA_BROKERS, `${name} needs KAFKA_BROKERS`);
      assert.equal(
        app.secretKeys.includes('TRIPLINE_ADMIN_KEY'),
        name === 'api',
        'only the api holds the admin key',
      );
    }
  });

  it('references only values that exist and helpers that are defined', () => {
    const has = (object: unknown, keys: string[]) =>
      keys.every((key) => {
        if (object === null || typeof object !== 'object' || !(key in object)) return false;
        object = (object as Record<string, unknown>)[key];
        return true;
      });
    const defined = new Set(
      [...templates['_helpers.tpl'].matchAll(/define "([^"]+)"/g)].map((match) => match[1]),
    );
    let references = 0;
    for (const [file, text] of Object.entries(templates)) {
      for (const [, reference] of text.matchAll(/\.Values((?:\.[A-Za-z_]\w*)+)/g)) {
        references += 1;
        assert.ok(
          has(values, reference.slice(1).split('.')),
          `${file}: .Values${reference} is not in values.yaml`,
        );
      }
      // Keys read from a ranged-over app must exist on every app.
      for (const [, key] of text.matchAll(/\$app\.(\w+)/g)) {
        for (const [name, app] of Object.entries(values.apps))
          assert.ok(key in app, `${file}: apps.${name}.${key}`);
      }
      for (const [, helper] of text.matchAll(/include "([^"]+)"/g))
        assert.ok(defined.has(helper), `${file}: include "${helper}" is not defined`);
      assert.equal(text.split('{{').length, text.split('}}').length, `${file}: unbalanced {{ }}`);
      const opened = [...text.matchAll(/\{\{-?\s*(if|range|with|define)\b/g)].length;
      const closed = [...text.matchAll(/\{\{-?\s*end\b/g)].length;
      assert.equal(opened, closed, `${file}: every if/range/with/define has its end`);
    }
    assert.ok(references > 20);
  });

  it('probes /health/live and /health on the port the app listens on', () => {
    const routes = healthRoutes();
    assert.equal(values.probes.liveness.path, '/health/live');
    assert.equal(values.probes.readiness.path, '/health');
    for (const probe of Object.values(values.probes))
      assert.ok(routes.has(probe.path), `${probe.path} is a route`);
    const deployment = templates['deployments.yaml'];
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      const block = new RegExp(
        `${probe}:\\s*httpGet:\\s*path: \\{\\{ \\$\\.Values\\.probes\\.(\\w+)\\.path \\}\\}\\s*port: http`,
      ).exec(deployment);
      assert.ok(block, `${probe} probes a configured path on the http port`);
    }
    assert.match(deployment, /- name: http\s+containerPort: \{\{ \$\.Values\.port \}\}/);
    assert.match(deployment, /- name: PORT\s+value: \{\{ \$\.Values\.port \| quote \}\}/);
    assert.match(deployment, /args: \[\{\{ \$name \| quote \}\}\]/, 'the app is chosen by the image command');
    assert.match(templates['services.yaml'], /targetPort: http/);
    assert.ok(values.terminationGracePeriodSeconds * 1000 > Number(values.config.SHUTDOWN_TIMEOUT_MS));
  });

  it('protects replicated apps with a PodDisruptionBudget selecting their pods', () => {
    const pdb = templates['poddisruptionbudgets.yaml'];
    assert.match(pdb, /apiVersion: policy\/v1\s+kind: PodDisruptionBudget/);
    assert.match(pdb, /gt \(int \$app\.replicas\) 1/);
    const selector = '{{- include "tripline.selectorLabels" (dict "root" $ "app" $name)';
    assert.ok(pdb.includes(selector));
    assert.ok(templates['deployments.yaml'].includes(selector));
    assert.ok(templates['services.yaml'].includes(selector));
    assert.ok(
      Number(
        parseYaml(readFileSync(path.join(chartDirectory, 'values.yaml'), 'utf8')).podDisruptionBudget
          .maxUnavailable,
      ) >= 1,
    );
  });
});
