import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RequestAuthentication } from '@tripline/http';
import { ApiKeyAuthentication } from './api-key-authentication';
import { ApiKey } from './api-key.entity';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyService } from './api-key.service';
import { ApiKeysController, CallerController } from './api-keys.controller';

/** API keys and the guard in front of every /v1/ route. Needs PostgresModule. */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKey])],
  controllers: [ApiKeysController, CallerController],
  providers: [
    ApiKeyService,
    ApiKeyAuthentication,
    { provide: RequestAuthentication, useExisting: ApiKeyAuthentication },
    { provide: APP_GUARD, useClass: ApiKeyGuard },
  ],
  exports: [ApiKeyService, ApiKeyAuthentication, RequestAuthentication],
})
export class AuthModule {}
