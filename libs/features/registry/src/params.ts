import { ParseUUIDPipe } from '@nestjs/common';
import type { AuthenticatedRequest } from '@tripline/auth';
import { ZodValidationPipe } from '@tripline/http';
import { modelIdSchema } from './schemas';

/** Path parameters of the registry routes: an id that cannot exist is a 404, as for a missing one. */
export const uuid = new ParseUUIDPipe({ errorHttpStatusCode: 404 });
export const modelId = new ZodValidationPipe(modelIdSchema);
/** Who made a change, as recorded with it. */
export const who = (request: AuthenticatedRequest) => request.principal?.name ?? 'unknown';
