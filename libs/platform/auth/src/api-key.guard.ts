import { ForbiddenException, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PUBLIC_ROUTE } from '@tripline/http';
import { ACCESS_REQUIREMENT } from './access.decorator';
import { ApiKeyAuthentication, type AuthenticatedRequest } from './api-key-authentication';
import { defaultRequirement, describeRequirement, isGranted, type AccessRequirement } from './roles';

/**
 * Guards every route: 401 when no valid key is presented, 403 when the key is valid but does not
 * grant what the route needs. Deny by default: only a route marked @Public() is open. The route's
 * metadata decides, never the request path, because a path test is only as good as the router's
 * idea of equal paths (case, trailing slashes, encodings) and that is how /V1/ once slipped past.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authentication: ApiKeyAuthentication,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_ROUTE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic === true) {
      // Public routes answer everyone; a valid key sent along still says who asks (/health shows
      // its callers the details it hides from anonymous ones). A missing, unknown or throttled key,
      // or a store that is down, leaves the caller anonymous rather than turning /health into an error.
      if (request.headers.authorization)
        await this.authentication.authenticate(request).catch(() => undefined);
      return true;
    }

    // Requests with a body were authenticated before it was read; the principal is reused.
    const principal = await this.authentication.authenticate(request);

    const requirement =
      this.reflector.getAllAndOverride<AccessRequirement | undefined>(ACCESS_REQUIREMENT, [
        context.getHandler(),
        context.getClass(),
      ]) ?? defaultRequirement(request.method);
    if (!isGranted(principal, requirement)) {
      const held = principal.role ? `role ${principal.role}` : `scopes [${principal.scopes.join(', ')}]`;
      throw new ForbiddenException(
        `${request.method} ${request.path} needs ${describeRequirement(requirement)}; this key has ${held}`,
      );
    }
    return true;
  }
}
