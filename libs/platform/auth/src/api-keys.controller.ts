import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { openApiSchema, ZodValidationPipe } from '@tripline/http';
import { RequireRole } from './access.decorator';
import type { ApiKey } from './api-key.entity';
import type { AuthenticatedRequest } from './api-key-authentication';
import { ApiKeyService } from './api-key.service';
import { ROLES, SCOPES } from './roles';

const newApiKeySchema = z
  .object({
    name: z.string().trim().min(1, 'expected a non-empty name').max(200, 'expected at most 200 characters'),
    role: z
      .enum(ROLES, { error: `expected one of ${ROLES.join(', ')}` })
      .nullable()
      .optional(),
    scopes: z
      .array(z.enum(SCOPES, { error: `expected one of ${SCOPES.join(', ')}` }))
      .max(SCOPES.length)
      .default([]),
    expiresAt: z.iso
      .datetime({ offset: true, error: 'expected an RFC 3339 timestamp, e.g. "2027-01-31T00:00:00Z"' })
      .refine((value) => Date.parse(value) > Date.now(), 'expected a time in the future')
      .optional(),
  })
  .strict()
  .refine((key) => (key.role ?? null) !== null || key.scopes.length > 0, {
    message: 'a key must grant a role or at least one scope',
    path: ['role'],
  });

type NewApiKeyBody = z.infer<typeof newApiKeySchema>;

function present(apiKey: ApiKey) {
  return {
    id: apiKey.id,
    name: apiKey.name,
    prefix: apiKey.prefix,
    role: apiKey.role,
    scopes: apiKey.scopes,
    createdAt: apiKey.createdAt,
    createdBy: apiKey.createdBy,
    lastUsedAt: apiKey.lastUsedAt,
    expiresAt: apiKey.expiresAt,
    revokedAt: apiKey.revokedAt,
  };
}

@ApiTags('keys')
@ApiBearerAuth()
@RequireRole('admin')
@Controller('v1/keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeyService) {}

  @Post()
  @ApiOperation({ summary: 'Create an API key; the secret is in the response once and never again' })
  @ApiBody({ schema: openApiSchema(newApiKeySchema) })
  async create(
    @Body(new ZodValidationPipe(newApiKeySchema)) body: NewApiKeyBody,
    @Req() request: AuthenticatedRequest,
  ) {
    const { apiKey, secret } = await this.keys.issue({
      name: body.name,
      role: body.role ?? null,
      scopes: body.scopes,
      expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
      createdBy: request.principal?.keyId ?? null,
    });
    return { ...present(apiKey), key: secret };
  }

  @Get()
  @ApiOperation({ summary: 'List API keys (never their secrets)' })
  async list() {
    return { items: (await this.keys.list()).map(present) };
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke an API key; the last active admin key cannot be revoked' })
  async revoke(@Param('id', new ParseUUIDPipe({ errorHttpStatusCode: 404 })) id: string) {
    return present(await this.keys.revoke(id));
  }
}

/**
 * Who the presented key is: its name, role and scopes, never its secret or hash. The console asks
 * once at sign-in to check a pasted key and to know which actions to offer; the server still
 * decides every action itself.
 */
@ApiTags('keys')
@ApiBearerAuth()
@Controller('v1/me')
export class CallerController {
  @Get()
  @ApiOperation({ summary: 'The calling API key: name, role and scopes (any role)' })
  whoAmI(@Req() request: AuthenticatedRequest) {
    const principal = request.principal!;
    return { key_id: principal.keyId, name: principal.name, role: principal.role, scopes: principal.scopes };
  }
}
