import { STATUS_CODES } from 'node:http';
import { Catch, HttpException, Logger, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { Request, Response } from 'express';
import { redactLoggedUrl } from './log-redaction';

// What the pg driver, TypeORM and the ClickHouse client say when the store itself is unreachable.
const UNAVAILABLE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|Connection terminated|connection is closed|the database system is (starting up|shutting down)|terminating connection due to administrator command/i;

/** Whether an error says that PostgreSQL or ClickHouse is unreachable (a temporary condition). */
export function isStoreUnavailable(exception: unknown): boolean {
  const text =
    exception instanceof Error
      ? `${exception.message} ${String((exception as { cause?: unknown }).cause ?? '')}`
      : '';
  return !(exception instanceof HttpException) && UNAVAILABLE.test(text);
}

/** The 4xx status of an error the body parser raised (http-errors: too large, bad UTF-8, aborted). */
function clientErrorStatus(exception: unknown): number | undefined {
  if (exception instanceof HttpException || !(exception instanceof Error)) return undefined;
  const status = (exception as { statusCode?: unknown; status?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

/**
 * A request that fails because PostgreSQL or ClickHouse is unreachable is a temporary condition:
 * answer 503 with Retry-After and say so, rather than a bare 500 that reads like a bug.
 * Also: a request the client got wrong (a body over the limit, invalid UTF-8, an upload aborted
 * half-way) is answered with its 4xx and logged as a warning of one line, not as an error with a
 * stack trace: nothing is wrong with the service, and stacks from hostile input flood the logs.
 */
@Catch()
export class StoreUnavailableFilter extends BaseExceptionFilter {
  private readonly clientErrors = new Logger('ClientError');

  override catch(exception: unknown, host: ArgumentsHost): void {
    const clientStatus = host.getType() === 'http' ? clientErrorStatus(exception) : undefined;
    if (clientStatus !== undefined) {
      const request = host.switchToHttp().getRequest<Request>();
      const response = host.switchToHttp().getResponse<Response>();
      const message = (exception as Error).message;
      this.clientErrors.warn(
        `${request.method} ${redactLoggedUrl(request.originalUrl ?? request.url)}: ${clientStatus} ${message}`,
      );
      if (response.headersSent || response.destroyed) response.end();
      else
        response
          .status(clientStatus)
          .json({ statusCode: clientStatus, error: STATUS_CODES[clientStatus], message });
      return;
    }
    if (host.getType() === 'http' && isStoreUnavailable(exception)) {
      const response = host.switchToHttp().getResponse<Response>();
      if (!response.headersSent) {
        response.status(503).setHeader('Retry-After', '5').json({
          statusCode: 503,
          error: 'Service Unavailable',
          message: 'a store (PostgreSQL or ClickHouse) is unavailable; retry shortly',
        });
        return;
      }
    }
    super.catch(exception, host);
  }
}
