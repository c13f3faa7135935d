import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

const LogLevel = Type.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
  { description: 'one of fatal, error, warn, info, debug, trace, silent' },
);

/** Every server setting, with its default. One schema checks the file, the environment and flags. */
export const ConfigSchema = Type.Object(
  {
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'an integer 0–65535' }),
    host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'a host name or IP address to listen on' }),
    dataDir: Type.String({ minLength: 1, default: './data', description: 'a directory path' }),
    databaseUrl: Type.Optional(
      Type.String({ pattern: '^postgres(ql)?://', description: 'a postgres:// or postgresql:// URL' }),
    ),
    corsOrigins: Type.Array(Type.String({ pattern: '^https?://[^/\\s]+$' }), {
      default: [],
      description: 'a list of origins like https://ops.example.com (comma-separated in the environment)',
    }),
    jwtSecret: Type.Optional(Type.String({ minLength: 32, description: 'a string of at least 32 characters' })),
    accessTokenTtl: Type.Integer({ minimum: 30, maximum: 86_400, default: 900, description: 'seconds, 30–86400' }),
    refreshTokenTtl: Type.Integer({
      minimum: 300,
      maximum: 31_536_000,
      default: 2_592_000,
      description: 'seconds, 300–31536000',
    }),
    adminPassword: Type.Optional(
      Type.String({ minLength: 12, maxLength: 1024, description: 'a password of at least 12 characters' }),
    ),
    logLevel: Type.Union(LogLevel.anyOf, { default: 'info', description: LogLevel.description }),
    trustProxy: Type.Boolean({ default: false, description: 'true or false' }),
    loginMaxPerIp: Type.Integer({ minimum: 1, default: 30, description: 'an integer ≥ 1 (login attempts per window)' }),
    loginMaxPerUser: Type.Integer({ minimum: 1, default: 10, description: 'an integer ≥ 1 (login attempts per window)' }),
    loginWindowSeconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 60, description: 'seconds, 1–86400' }),
    bodyLimit: Type.Integer({ minimum: 1024, default: 1_048_576, description: 'bytes, at least 1024' }),
    uploadMaxBytes: Type.Integer({ minimum: 1024, default: 536_870_912, description: 'bytes of one APK upload, at least 1024' }),
    actionTimeoutMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 60_000, description: 'ms per ldconsole call, 100–3600000' }),
    bootTimeoutMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 180_000, description: 'ms from launch to Android booted, 100–3600000' }),
    maxConcurrentBoots: Type.Integer({ minimum: 1, maximum: 1000, default: 2, description: 'instances booting at once per workstation (its limits win)' }),
    launchIntervalMs: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 2000, description: 'ms between launches per workstation (its limits win)' }),
    retryMaxAttempts: Type.Integer({ minimum: 1, maximum: 20, default: 3, description: 'attempts of an operation after transient failures, 1–20' }),
    retryBaseDelayMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 1000, description: 'ms, first retry backoff (doubles, with jitter)' }),
    breakerFailures: Type.Integer({ minimum: 1, maximum: 1000, default: 5, description: 'consecutive transport/timeout failures that open a workstation breaker' }),
    breakerHalfOpenMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 60_000, description: 'ms an open breaker waits before probing' }),
    offlineGraceMs: Type.Integer({ minimum: 0, maximum: 86_400_000, default: 120_000, description: 'ms a queued operation waits for its offline workstation before it fails (transport/workstation_offline)' }),
    maxConcurrentReadsPerUser: Type.Integer({ minimum: 1, maximum: 1000, default: 4, description: 'synchronous reads (screenshots, app lists) one user may have in flight or waiting; more is a 429' }),
    maxWaitingReadsPerWorkstation: Type.Integer({ minimum: 0, maximum: 10_000, default: 32, description: 'synchronous reads waiting for a read slot of one workstation; more is a 429' }),
    uploadQuotaBytes: Type.Integer({ minimum: 1024, default: 4_294_967_296, description: 'bytes all waiting APK uploads may take on disk together; an upload past it is a 507' }),
    uploadOrphanMaxAgeMs: Type.Integer({ minimum: 60_000, maximum: 31_536_000_000, default: 86_400_000, description: 'ms after which an upload no unfinished operation refers to is deleted' }),
    maxQueuedOperationsPerUser: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 20_000, description: 'operations one user may have unfinished (queued or running); a request past it is a 429' }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type ConfigKey = keyof Config;

/** The environment variable of each key. */
export const ENV_NAMES: Readonly<Record<ConfigKey, string>> = {
  port: 'LDFLEET_PORT',
  host: 'LDFLEET_HOST',
  dataDir: 'LDFLEET_DATA_DIR',
  databaseUrl: 'LDFLEET_DATABASE_URL',
  corsOrigins: 'LDFLEET_CORS_ORIGINS',
  jwtSecret: 'LDFLEET_JWT_SECRET',
  accessTokenTtl: 'LDFLEET_ACCESS_TOKEN_TTL',
  refreshTokenTtl: 'LDFLEET_REFRESH_TOKEN_TTL',
  adminPassword: 'LDFLEET_ADMIN_PASSWORD',
  logLevel: 'LDFLEET_LOG_LEVEL',
  trustProxy: 'LDFLEET_TRUST_PROXY',
  loginMaxPerIp: 'LDFLEET_LOGIN_MAX_PER_IP',
  loginMaxPerUser: 'LDFLEET_LOGIN_MAX_PER_USER',
  loginWindowSeconds: 'LDFLEET_LOGIN_WINDOW_SECONDS',
  bodyLimit: 'LDFLEET_BODY_LIMIT',
  uploadMaxBytes: 'LDFLEET_UPLOAD_MAX_BYTES',
  actionTimeoutMs: 'LDFLEET_ACTION_TIMEOUT_MS',
  bootTimeoutMs: 'LDFLEET_BOOT_TIMEOUT_MS',
  maxConcurrentBoots: 'LDFLEET_MAX_CONCURRENT_BOOTS',
  launchIntervalMs: 'LDFLEET_LAUNCH_INTERVAL_MS',
  retryMaxAttempts: 'LDFLEET_RETRY_MAX_ATTEMPTS',
  retryBaseDelayMs: 'LDFLEET_RETRY_BASE_DELAY_MS',
  breakerFailures: 'LDFLEET_BREAKER_FAILURES',
  breakerHalfOpenMs: 'LDFLEET_BREAKER_HALF_OPEN_MS',
  offlineGraceMs: 'LDFLEET_OFFLINE_GRACE_MS',
  maxConcurrentReadsPerUser: 'LDFLEET_MAX_CONCURRENT_READS_PER_USER',
  maxWaitingReadsPerWorkstation: 'LDFLEET_MAX_WAITING_READS_PER_WORKSTATION',
  uploadQuotaBytes: 'LDFLEET_UPLOAD_QUOTA_BYTES',
  uploadOrphanMaxAgeMs: 'LDFLEET_UPLOAD_ORPHAN_MAX_AGE_MS',
  maxQueuedOperationsPerUser: 'LDFLEET_MAX_QUEUED_OPERATIONS_PER_USER',
};
