import { Catch, HttpException, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { Response } from 'express';

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

/**
 * A request that fails because PostgreSQL or ClickHouse is unreachable is a temporary condition:
 * answer 503 with Retry-After and say so, rather than a bare 500 that reads like a bug.
 */
@Catch()
export class StoreUnavailableFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
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
