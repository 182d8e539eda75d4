import { ParseUUIDPipe } from '@nestjs/common';
import { modelIdSchema } from '@tripline/registry';
import { ZodValidationPipe } from '@tripline/http';

/** Path parameters of the run routes: an unknown id is a 404, as for any missing run. */
export const uuid = new ParseUUIDPipe({ errorHttpStatusCode: 404 });
export const modelId = new ZodValidationPipe(modelIdSchema);
