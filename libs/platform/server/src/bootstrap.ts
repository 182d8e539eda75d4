import { HttpException, Logger as NestLogger, type INestApplication, type Type } from '@nestjs/common';
import { HttpAdapterHost, NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import express from 'express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { loadEnvironmentOrExit, registerOwnListener, type Environment } from '@tripline/config';
import { describeTooDeep, describeTooManyValues, JsonDepthGauge, LIMITS } from '@tripline/contracts';
import { RequestAuthentication } from '@tripline/http';
import { HttpRequestMetrics } from './http-request-metrics';
import { isStoreUnavailable, StoreUnavailableFilter } from './store-unavailable.filter';

export interface ApplicationOptions {
  /** The service name in logs and metrics: api, ingestor, evaluator, alerter or standalone. */
  service: string;
  /** Serve the OpenAPI document at /docs and /docs-json. */
  openApi?: boolean;
}

/**
 * The routes whose JSON bodies may be as large as a batch (LIMITS.batchBytes): event and feedback
 * batches, and scans that carry RAG documents or trigger candidates. Every other JSON body is
 * bounded by LIMITS.jsonBodyBytes: a key, a rule or a model version is a few KB, and parsing a
 * body costs the event loop in proportion to its size. Dataset uploads are streamed, not parsed.
 */
export const BATCH_BODY_ROUTES: ReadonlySet<string> = new Set(['/v1/events', '/v1/feedback', '/v1/scans']);

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

const clientError = (message: string, type: string, status = 400) =>
  Object.assign(new Error(message), { status, statusCode: status, expose: true, type });

/**
 * Runs on the (inflated, size-limited) body before JSON.parse sees it. The JSON parser would
 * replace invalid bytes with U+FFFD and store altered text; and it would build every level of a
 * body nested millions deep, holding the event loop for seconds, before any check on the parsed
 * value could refuse it. Both are refused on the bytes, in one linear scan.
 */
function verifyJsonBody(_request: unknown, _response: unknown, body: Buffer): void {
  try {
    strictUtf8.decode(body);
  } catch {
    throw clientError('the request body is not valid UTF-8', 'encoding.invalid');
  }
  const gauge = new JsonDepthGauge(LIMITS.bodyDepth, LIMITS.bodyValues);
  if (gauge.feed(body)) return;
  if (gauge.exceeded === 'values')
    throw clientError(describeTooManyValues(LIMITS.bodyValues, gauge.exceededAt!), 'entity.too.many', 413);
  throw clientError(describeTooDeep(LIMITS.bodyDepth, gauge.exceededAt!), 'entity.too.deep');
}

/** JSON bodies: up to LIMITS.batchBytes on the batch routes, LIMITS.jsonBodyBytes elsewhere. */
function jsonBodies(): express.RequestHandler {
  const batch = express.json({ limit: LIMITS.batchBytes, verify: verifyJsonBody });
  const other = express.json({ limit: LIMITS.jsonBodyBytes, verify: verifyJsonBody });
  return (request, response, next) => {
    const batchRoute = BATCH_BODY_ROUTES.has(request.path);
    (batchRoute ? batch : other)(request, response, (error?: unknown) => {
      if (error instanceof Error && (error as { type?: string }).type === 'entity.too.large') {
        error.message = batchRoute
          ? `the request body is larger than ${LIMITS.batchBytes} bytes: split the batch`
          : `the request body is larger than ${LIMITS.jsonBodyBytes} bytes, the limit of a JSON body ` +
            `here (only ${[...BATCH_BODY_ROUTES].join(', ')} take up to ${LIMITS.batchBytes})`;
      }
      next(error);
    });
  };
}

const carriesBody = (request: express.Request) =>
  request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;

/**
 * Checks the API key of every request that carries a body before a byte of it is read: a caller
 * without a valid key gets its 401 (or 429) at once, and no body is inflated, parsed or buffered
 * for it. The principal stays on the request, so the route guard does not look the key up again.
 * Every route that accepts a body is a protected one; public routes (/health, /metrics) are GETs.
 */
function authenticateBeforeBody(authentication: RequestAuthentication): express.RequestHandler {
  return (request, response, next) => {
    if (!carriesBody(request)) return next();
    authentication.authenticate(request).then(
      () => next(),
      (error: unknown) => {
        // The body stays unread; closing the connection spares the server reading it to reuse it.
        response.setHeader('connection', 'close');
        if (error instanceof HttpException) {
          const answer = error.getResponse();
          response
            .status(error.getStatus())
            .json(typeof answer === 'string' ? { statusCode: error.getStatus(), message: answer } : answer);
        } else if (isStoreUnavailable(error)) {
          response.status(503).setHeader('Retry-After', '5').json({
            statusCode: 503,
            error: 'Service Unavailable',
            message: 'a store (PostgreSQL or ClickHouse) is unavailable; retry shortly',
          });
        } else next(error);
      },
    );
  };
}

/** The app's RequestAuthentication, when it has one (apps without the auth module have none). */
function requestAuthentication(app: INestApplication): RequestAuthentication | undefined {
  try {
    return app.get(RequestAuthentication, { strict: false });
  } catch {
    return undefined;
  }
}

export function describeOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Tripline')
    .setDescription(
      'Continuous drift and poisoning monitoring for ML models. Every route under /v1/ needs `Authorization: Bearer <api key>`.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'A Tripline API key' })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}

/**
 * Express matches routes case-insensitively and ignores a trailing slash by default, so /V1/keys
 * and /v1/keys/ would reach the same handler as /v1/keys. One spelling per route: anything else is
 * a 404. Express reads these settings when its router is first built, so they are set on an
 * instance of our own before Nest registers anything.
 */
function strictRouter(): express.Express {
  const instance = express();
  instance.set('case sensitive routing', true);
  instance.set('strict routing', true);
  // Express answers OPTIONS itself with the route's Allow list, before any guard runs. The API
  // serves no cross-origin callers, so OPTIONS is refused outright: nothing to learn without a key.
  instance.use((request: express.Request, response: express.Response, next: express.NextFunction) => {
    if (request.method !== 'OPTIONS') return next();
    response.status(405).set('Allow', 'GET, HEAD, POST, PUT, PATCH, DELETE').json({
      statusCode: 405,
      error: 'Method Not Allowed',
      message: 'OPTIONS is not served: the API takes no cross-origin requests',
    });
  });
  return instance;
}

/** Creates and configures an application without listening: what tests and main() share. */
export async function createApplication(
  rootModule: Type<unknown>,
  options: ApplicationOptions,
): Promise<NestExpressApplication> {
  process.env.TRIPLINE_SERVICE = options.service;
  const app = await NestFactory.create<NestExpressApplication>(
    rootModule,
    new ExpressAdapter(strictRouter()),
    {
      bufferLogs: true,
      bodyParser: false,
      // Errors reach the caller (runApplication reports them and exits 1) instead of Nest ending the
      // process from inside a lookup: an app without the auth module asks for it and must survive.
      abortOnError: false,
    },
  );
  app.useLogger(app.get(Logger));
  app.use(app.get(HttpRequestMetrics).record); // first, so every answer is counted, refusals included
  const authentication = requestAuthentication(app);
  if (authentication) app.use(authenticateBeforeBody(authentication));
  // The limits apply to the inflated body: a gzip bomb stops at 8 MiB (1 MiB off the batch routes),
  // then meets the depth and value-count checks, all before JSON.parse.
  app.use(jsonBodies());
  app.useBodyParser('urlencoded', { limit: '1mb', extended: false });
  // body-parser hangs the whole refused body on its error; logging that error serialised it byte
  // by byte (4 MB of "[" became 12 MB of log and seconds of a blocked event loop).
  app.use(
    (error: unknown, _request: express.Request, _response: express.Response, next: express.NextFunction) => {
      if (error && typeof error === 'object' && 'body' in error) delete (error as { body?: unknown }).body;
      next(error);
    },
  );
  app.set('trust proxy', false);
  app.disable('x-powered-by');
  app.useGlobalFilters(new StoreUnavailableFilter(app.get(HttpAdapterHost).httpAdapter));
  if (options.openApi) describeOpenApi(app);
  return app;
}

/**
 * main() of every app: validate configuration, build, listen, and close cleanly on SIGTERM or
 * SIGINT within SHUTDOWN_TIMEOUT_MS (consumers drain, buffers flush, connections close).
 */
export async function runApplication(
  rootModule: Type<unknown>,
  options: ApplicationOptions,
): Promise<NestExpressApplication> {
  const environment: Environment = loadEnvironmentOrExit();
  const startup = new NestLogger('Tripline');
  let app: NestExpressApplication;
  try {
    app = await createApplication(rootModule, options);
  } catch (error) {
    startup.error(
      `${options.service} could not start: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.stderr.write(
      `tripline ${options.service}: could not start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  }
  installShutdown(app, environment.SHUTDOWN_TIMEOUT_MS);
  registerOwnListener(environment.PORT, "this process's API");
  await app.listen(environment.PORT, environment.HOST);
  // Node closes an idle keep-alive connection after 5 s and tells clients so; a client whose event
  // loop was busy for a second past its own 4 s then writes a request into a socket the server is
  // closing (EPIPE, "other side closed"). Above the usual proxy idle timeout of 60 s, clients and
  // proxies close first. headersTimeout must stay above it.
  const server = app.getHttpServer() as Server;
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  app
    .get(Logger)
    .log(`${options.service} listening on http://${environment.HOST}:${environment.PORT}`, 'Tripline');
  return app;
}

function installShutdown(app: INestApplication, timeoutMs: number): void {
  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    const logger = app.get(Logger);
    logger.log(`${signal} received: draining and closing`, 'Tripline');
    const force = setTimeout(() => {
      logger.error(`shutdown took longer than ${timeoutMs} ms; exiting anyway`, undefined, 'Tripline');
      process.exit(1);
    }, timeoutMs);
    force.unref();
    app
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error(`shutdown failed: ${String(error)}`, undefined, 'Tripline');
        process.exit(1);
      });
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
