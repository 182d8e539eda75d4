import { SetMetadata } from '@nestjs/common';
import type { AccessRequirement, Role, Scope } from './roles';

export const ACCESS_REQUIREMENT = 'tripline:access';

/** The minimum role a route needs; overrides the method-based default. */
export const RequireRole = (role: Role) =>
  SetMetadata(ACCESS_REQUIREMENT, { role } satisfies AccessRequirement);

/** A scope a route needs (held by keys granted it, and by admins). */
export const RequireScope = (scope: Scope) =>
  SetMetadata(ACCESS_REQUIREMENT, { scope } satisfies AccessRequirement);
