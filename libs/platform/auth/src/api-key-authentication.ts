import { HttpException, HttpStatus, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { RequestAuthentication } from '@tripline/http';
import { ApiKeyService } from './api-key.service';
import { hashApiKey } from './key-material';
import type { Principal } from './roles';

export interface AuthenticatedRequest extends Request {
  principal?: Principal;
}

/** How long a key that was unknown is answered 401 without asking the database again. */
const UNKNOWN_KEY_TTL_MS = 60_000;
const UNKNOWN_KEYS_REMEMBERED = 10_000;
/** How long a key that worked still passes while its client is over the failure limit. */
const KNOWN_KEY_TTL_MS = 10 * 60_000;
const KNOWN_KEYS_REMEMBERED = 10_000;

/**
 * API-key authentication with two defences against floods of guessed keys, each of which would
 * otherwise cost a database lookup on the one connection everything shares:
 * - a negative cache: a key found unknown is answered 401 from memory for a minute;
 * - a per-client limit on keys that were looked up and found unknown
 *   (TRIPLINE_AUTH_FAILURES_PER_MINUTE per remote address): past it, new keys from that address
 *   get 429 with Retry-After and no lookup, while keys that recently worked from anywhere still
 *   pass, so a legitimate caller behind the same address is not locked out with the attacker.
 */
@Injectable()
export class ApiKeyAuthentication extends RequestAuthentication {
  private readonly failures: RateLimiterMemory;
  private readonly unknownKeys = new Map<string, number>();
  private readonly knownKeys = new Map<string, number>();

  constructor(
    private readonly keys: ApiKeyService,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
  ) {
    super();
    this.failures = new RateLimiterMemory({
      points: environment.TRIPLINE_AUTH_FAILURES_PER_MINUTE,
      duration: 60,
    });
  }

  async authenticate(request: AuthenticatedRequest): Promise<Principal> {
    if (request.principal) return request.principal;
    const secret = bearerToken(request.headers.authorization);
    if (!secret)
      throw new UnauthorizedException('Missing API key: send the header "Authorization: Bearer <api key>"');
    const hash = hashApiKey(secret);
    const now = Date.now();
    if ((this.unknownKeys.get(hash) ?? 0) > now) throw unknownKey();

    const client = request.socket?.remoteAddress ?? 'unknown';
    if ((this.knownKeys.get(hash) ?? 0) <= now) {
      const record = await this.failures.get(client);
      if (record && record.consumedPoints >= this.environment.TRIPLINE_AUTH_FAILURES_PER_MINUTE) {
        const seconds = Math.max(1, Math.ceil(record.msBeforeNext / 1000));
        request.res?.setHeader('Retry-After', String(seconds));
        throw new HttpException(
          {
            statusCode: HttpStatus.TOO_MANY_REQUESTS,
            error: 'Too Many Requests',
            message: `Too many unknown API keys from ${client}: keys are not looked up from this address for ${seconds} s (TRIPLINE_AUTH_FAILURES_PER_MINUTE)`,
          },
          HttpStatus.TOO_MANY_REQUESTS,
        );
      }
    }

    const principal = await this.keys.authenticate(secret);
    if (!principal) {
      remember(this.unknownKeys, hash, now + UNKNOWN_KEY_TTL_MS, UNKNOWN_KEYS_REMEMBERED);
      // The limiter only counts; consume() rejects once over, which is what get() reads next time.
      await this.failures.consume(client).catch(() => undefined);
      throw unknownKey();
    }
    remember(this.knownKeys, hash, now + KNOWN_KEY_TTL_MS, KNOWN_KEYS_REMEMBERED);
    request.principal = principal;
    return principal;
  }
}

function unknownKey(): UnauthorizedException {
  return new UnauthorizedException('The API key is unknown, revoked or expired');
}

/** A bounded map that forgets its oldest entry first. */
function remember(map: Map<string, number>, key: string, until: number, capacity: number): void {
  map.delete(key);
  map.set(key, until);
  if (map.size > capacity) map.delete(map.keys().next().value!);
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
