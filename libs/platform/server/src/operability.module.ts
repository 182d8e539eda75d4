import { randomUUID } from 'node:crypto';
import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { HealthController } from './health.controller';
import { HttpRequestMetrics } from './http-request-metrics';
import { redactLoggedUrl } from './log-redaction';
import { Metrics } from './metrics';
import { MetricsController } from './metrics.controller';

const QUIET_PATHS = new Set(['/health', '/health/live', '/metrics']);

/** JSON logs with request ids, /health, /metrics: what every Tripline process serves. */
@Global()
@Module({
  imports: [
    TerminusModule.forRoot({ errorLogStyle: 'json' }),
    LoggerModule.forRootAsync({
      inject: [ENVIRONMENT],
      useFactory: (environment: Environment) => ({
        pinoHttp: {
          level: environment.LOG_LEVEL,
          // A person at a terminal reads coloured one-line logs; anything else (files, collectors) gets JSON.
          ...(process.stdout.isTTY
            ? {
                transport: {
                  target: 'pino-pretty',
                  options: {
                    colorize: true,
                    translateTime: 'SYS:HH:MM:ss',
                    ignore: 'pid,hostname,service,context',
                    messageFormat: '{if context}[{context}] {end}{msg}',
                  },
                },
              }
            : {}),
          base: { service: process.env.TRIPLINE_SERVICE ?? 'tripline' },
          genReqId: (request: IncomingMessage, response: ServerResponse) => {
            const incoming = request.headers['x-request-id'];
            const id =
              typeof incoming === 'string' && /^[\w.-]{1,128}$/.test(incoming) ? incoming : randomUUID();
            response.setHeader('x-request-id', id);
            return id;
          },
          // Keys and credentials never reach log storage.
          redact: {
            paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'],
            censor: '[redacted]',
          },
          autoLogging: {
            ignore: (request: IncomingMessage) => QUIET_PATHS.has((request.url ?? '').split('?')[0]),
          },
          serializers: {
            req: (request: { id: string; method: string; url: string }) => ({
              id: request.id,
              method: request.method,
              url: redactLoggedUrl(request.url),
            }),
          },
        },
      }),
    }),
  ],
  controllers: [HealthController, MetricsController],
  providers: [Metrics, HttpRequestMetrics],
  exports: [Metrics, HttpRequestMetrics],
})
export class OperabilityModule {}
