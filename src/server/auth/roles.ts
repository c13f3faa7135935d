/** Roles from least to most powerful; each includes everything below it. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What a route requires: `public` (no credentials at all) or the least role allowed.
 * Every route under /api/v1 must say which (`config: { auth: 'operator' }`).
 */
export type RouteAuth = 'public' | Role;

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

export function hasRole(actual: Role, required: Role): boolean {
  return roleRank(actual) >= roleRank(required);
}

/** The weaker of two roles: an API token never acts above its owner's current role. */
export function lowerRole(a: Role, b: Role): Role {
  return roleRank(a) <= roleRank(b) ? a : b;
}
