import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Metrics } from './metrics';

/**
 * Times every HTTP request and labels it once the response has been sent. Reading the status any
 * earlier (an interceptor) sees 200 before exception filters turn a throw into 404 or 503, and never
 * sees what a guard refused; so this runs as the first middleware and waits for `finish`.
 */
const CATCH_ALL = /^\/?\{?\*/;

@Injectable()
export class HttpRequestMetrics {
  private readonly duration;

  constructor(metrics: Metrics) {
    this.duration = metrics.histogram({
      name: 'tripline_http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern ("unmatched" when no route answered) and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
  }

  readonly record = (request: Request, response: Response, next: NextFunction): void => {
    const stop = this.duration.startTimer();
    const done = () => {
      response.off('finish', done);
      response.off('close', done);
      // The route pattern, never the path, keeps label cardinality bounded. Nest answers 404 from a
      // catch-all route (`/{*path}`): that is no route of ours either.
      const route = (request.route as { path?: unknown } | undefined)?.path;
      stop({
        method: request.method,
        route: typeof route === 'string' && !CATCH_ALL.test(route) ? route : 'unmatched',
        status: String(response.statusCode),
      });
    };
    // `close` without `finish`: the client went away; the status is what the server had decided.
    response.once('finish', done);
    response.once('close', done);
    next();
  };
}
