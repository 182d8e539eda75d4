import { SetMetadata } from '@nestjs/common';

export const PUBLIC_ROUTE = 'tripline:public';

/**
 * Marks a controller or handler as reachable without an API key. Every other route needs one:
 * the guard denies by default, so a route someone forgets to mark stays closed, not open.
 * Public routes are the operational ones an orchestrator or scraper calls (/health, /metrics).
 */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
