import {
  ForbiddenException,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { PUBLIC_ROUTE } from '@tripline/http';
import { ACCESS_REQUIREMENT } from './access.decorator';
import { ApiKeyService } from './api-key.service';
import {
  defaultRequirement,
  describeRequirement,
  isGranted,
  type AccessRequirement,
  type Principal,
} from './roles';

export interface AuthenticatedRequest extends Request {
  principal?: Principal;
}

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
    private readonly keys: ApiKeyService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_ROUTE, [
      context.getHandler(),
      context.getClass(),
    ]);
    const secret = bearerToken(request.headers.authorization);
    if (isPublic === true) {
      // Public routes answer everyone; a valid key sent along still says who asks (/health shows
      // its callers the details it hides from anonymous ones).
      // A store that is down must not turn /health into an error: the caller is then anonymous.
      const principal = secret ? await this.keys.authenticate(secret).catch(() => null) : null;
      if (principal) request.principal = principal;
      return true;
    }

    if (!secret)
      throw new UnauthorizedException('Missing API key: send the header "Authorization: Bearer <api key>"');
    const principal = await this.keys.authenticate(secret);
    if (!principal) throw new UnauthorizedException('The API key is unknown, revoked or expired');
    request.principal = principal;

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

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
