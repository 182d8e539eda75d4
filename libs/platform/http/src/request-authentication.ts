import type { Request } from 'express';

/**
 * Authenticates a request from its headers alone. The application's shell asks it before any body
 * is read (an unauthenticated caller must not get a body inflated and parsed on its behalf), and
 * the route guard asks it again, which then costs nothing: the principal found first is kept on
 * the request. Provided by the auth module; an app without one has no protected routes.
 */
export abstract class RequestAuthentication {
  /** Resolves once the request carries a valid key; throws an HttpException (401, 429) otherwise. */
  abstract authenticate(request: Request): Promise<unknown>;
}
