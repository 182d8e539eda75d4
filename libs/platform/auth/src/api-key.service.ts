import {
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { ApiKey } from './api-key.entity';
import { displayPrefix, generateApiKey, hashApiKey } from './key-material';
import type { Principal, Role, Scope } from './roles';

export interface NewApiKey {
  name: string;
  role: Role | null;
  scopes: Scope[];
  expiresAt?: Date | null;
  createdBy?: string | null;
}

export interface IssuedApiKey {
  apiKey: ApiKey;
  /** The secret itself: returned once, never stored. */
  secret: string;
}

const CACHE_TTL_MS = 5_000;
const LAST_USED_RESOLUTION_MS = 60_000;

@Injectable()
export class ApiKeyService implements OnApplicationBootstrap {
  private readonly logger = new Logger('ApiKeys');
  // A short cache keeps the key lookup off the ingest hot path; revocation reaches other replicas within its TTL.
  private readonly cache = new Map<string, { principal: Principal | null; expires: number }>();
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.bootstrapAdminKey();
  }

  async issue(request: NewApiKey): Promise<IssuedApiKey> {
    const secret = generateApiKey();
    const apiKey = await this.keys.save(
      this.keys.create({
        name: request.name,
        role: request.role,
        scopes: [...new Set(request.scopes)],
        expiresAt: request.expiresAt ?? null,
        createdBy: request.createdBy ?? null,
        prefix: displayPrefix(secret),
        keyHash: hashApiKey(secret),
      }),
    );
    return { apiKey: await this.keys.findOneByOrFail({ id: apiKey.id }), secret };
  }

  list(): Promise<ApiKey[]> {
    return this.keys.find({ order: { createdAt: 'ASC' } });
  }

  async revoke(id: string): Promise<ApiKey> {
    const apiKey = await this.keys.findOneBy({ id });
    if (!apiKey) throw new NotFoundException(`API key ${id} does not exist`);
    if (apiKey.revokedAt) return apiKey;
    if (apiKey.role === 'admin') {
      const activeAdmins = await this.keys.countBy({ role: 'admin', revokedAt: IsNull() });
      if (activeAdmins <= 1) {
        throw new ConflictException(
          `API key ${id} is the last active admin key; create another admin key before revoking it`,
        );
      }
    }
    apiKey.revokedAt = new Date();
    await this.keys.update({ id }, { revokedAt: apiKey.revokedAt });
    this.cache.clear();
    return apiKey;
  }

  /** The principal a presented key stands for, or null when it is unknown, revoked or expired. */
  async authenticate(secret: string): Promise<Principal | null> {
    const hash = hashApiKey(secret);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.expires > now) return cached.principal;
    const apiKey = await this.keys.findOneBy({ keyHash: hash });
    const valid = apiKey && !apiKey.revokedAt && (!apiKey.expiresAt || apiKey.expiresAt.getTime() > now);
    const principal: Principal | null = valid
      ? { keyId: apiKey.id, name: apiKey.name, role: apiKey.role, scopes: apiKey.scopes }
      : null;
    if (this.cache.size > 10_000) this.cache.clear();
    // A cached answer never outlives the key: an expired key is refused on the first request
    // after its expiry, not up to CACHE_TTL_MS later.
    const keyExpiry = valid ? (apiKey.expiresAt?.getTime() ?? Infinity) : Infinity;
    this.cache.set(hash, { principal, expires: Math.min(now + CACHE_TTL_MS, keyExpiry) });
    if (principal) this.touch(principal.keyId, now);
    return principal;
  }

  private touch(id: string, now: number): void {
    const last = this.lastUsedWritten.get(id) ?? 0;
    if (now - last < LAST_USED_RESOLUTION_MS) return;
    this.lastUsedWritten.set(id, now);
    this.keys.update({ id }, { lastUsedAt: new Date(now) }).catch((error: unknown) => {
      this.logger.warn(`could not record last use of key ${id}: ${String(error)}`);
    });
  }

  /**
   * A fresh installation gets an admin key: TRIPLINE_ADMIN_KEY when given, otherwise a generated
   * one, printed once. TRIPLINE_ADMIN_KEY is registered on every start, so whoever sets the
   * environment can always get back in, but a revoked key stays revoked across restarts: a key is
   * revoked because it leaked, and a restart must not bring it back. The way back in is a new
   * value of TRIPLINE_ADMIN_KEY, which is registered as a new admin key on the next start.
   */
  private async bootstrapAdminKey(): Promise<void> {
    const configured = this.environment.TRIPLINE_ADMIN_KEY;
    if (configured) {
      const existing = await this.keys.findOneBy({ keyHash: hashApiKey(configured) });
      if (existing?.revokedAt) {
        this.logger.warn(
          `TRIPLINE_ADMIN_KEY is the key ${existing.prefix}… revoked at ${existing.revokedAt.toISOString()}; ` +
            'it stays revoked. To get back in, set TRIPLINE_ADMIN_KEY to a new value and restart',
        );
        return;
      }
      await this.keys
        .createQueryBuilder()
        .insert()
        .values({
          name: 'bootstrap admin (TRIPLINE_ADMIN_KEY)',
          role: 'admin',
          scopes: [],
          prefix: displayPrefix(configured),
          keyHash: hashApiKey(configured),
        })
        .orIgnore()
        .execute();
      return;
    }
    const secret = generateApiKey();
    const created = await this.keys.manager.transaction(async (manager) => {
      // Serialises replicas booting together against one empty database.
      await manager.query('SELECT pg_advisory_xact_lock(7303417002)');
      if ((await manager.count(ApiKey)) > 0) return false;
      await manager.insert(ApiKey, {
        name: 'bootstrap admin',
        role: 'admin',
        scopes: [],
        prefix: displayPrefix(secret),
        keyHash: hashApiKey(secret),
      });
      return true;
    });
    if (created) {
      // Deliberately not through the logger: the secret must not reach log storage.
      process.stdout.write(
        [
          '',
          '  ┌─ Tripline admin API key (shown once; it is stored hashed) ─────────────',
          `  │  ${secret}`,
          '  │  Use it as: Authorization: Bearer <key>. Create narrower keys with POST /v1/keys.',
          '  └────────────────────────────────────────────────────────────────────────',
          '',
        ].join('\n') + '\n',
      );
    }
  }
}
