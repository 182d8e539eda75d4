export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const SCOPES = ['ingest'] as const;
export type Scope = (typeof SCOPES)[number];

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export interface Principal {
  keyId: string;
  name: string;
  role: Role | null;
  scopes: Scope[];
}

/**
 * How much of a stored endpoint configuration (model endpoints, notification channels) a caller
 * may read: admins see URLs and non-credential header values, everyone else only the
 * destination's scheme, host and port. Credentials themselves are never shown after create.
 */
export function configAudience(principal: Principal | undefined): 'admin' | 'reader' {
  return principal?.role === 'admin' ? 'admin' : 'reader';
}

/** What a route asks of the caller: a minimum role, or a scope (admins hold every scope). */
export type AccessRequirement = { role: Role } | { scope: Scope };

export function isGranted(principal: Principal, requirement: AccessRequirement): boolean {
  if ('role' in requirement) return principal.role !== null && RANK[principal.role] >= RANK[requirement.role];
  return principal.role === 'admin' || principal.scopes.includes(requirement.scope);
}

/** Routes that declare nothing: reads need a viewer, anything that changes state needs an operator. */
export function defaultRequirement(method: string): AccessRequirement {
  return ['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase())
    ? { role: 'viewer' }
    : { role: 'operator' };
}

export function describeRequirement(requirement: AccessRequirement): string {
  return 'role' in requirement
    ? `role ${requirement.role} or higher`
    : `the ${requirement.scope} scope (or role admin)`;
}
