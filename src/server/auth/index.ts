/** The auth unit: users, passwords, sessions with rotating refresh tokens, API tokens, roles, audit. */
export { AuthService } from './service.js';
export type { TokenPair, AuthOptions } from './service.js';
export { AuditLog, outcomeOf, changesBetween, changesOf, redactChanges, REDACTED } from './audit.js';
export type { AuditChanges, AuditDetail, AuditEntry, AuditFilter, AuditOutcome, AuditRecord, AuditTarget } from './audit.js';
export { ROLES, isRole, hasRole, lowerRole, roleRank } from './roles.js';
export type { Role, RouteAuth } from './roles.js';
export type { Principal } from './principal.js';
export type { User, UserChanges } from './users.js';
export type { ApiToken, CreatedApiToken } from './api-tokens.js';
export { hashPassword, verifyPassword, MIN_PASSWORD_LENGTH } from './passwords.js';
export { hashToken, newOpaqueToken, API_TOKEN_PREFIX, ENROLLMENT_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX } from './tokens.js';
export { installAuthGuard, installAuditHook, targetTypeOf, API_PREFIX } from './guard.js';
export type { RegisteredRoute } from './guard.js';
export { authUnit, UserSchema } from './routes.js';
export { apiTokenParentMigration } from './schema.js';
