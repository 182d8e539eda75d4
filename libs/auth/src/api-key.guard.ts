import {
  ForbiddenException,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
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
 * Guards every route under /v1/: 401 when no valid key is presented, 403 when the key is valid
 * but does not grant what the route needs. Operational routes (/health, /metrics, /docs) stay open.
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
    if (!request.path.startsWith('/v1/') && request.path !== '/v1') return true;

    const secret = bearerToken(request.headers.authorization);
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
