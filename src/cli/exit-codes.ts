/**
 * The exit codes scripts rely on, and the one mapping from an error to its code and message.
 * 0 success; 1 the action ran and some targets failed; 2 bad usage or input; 3 auth (not logged
 * in, expired, forbidden); 4 not found; 5 server unreachable; 130 stopped waiting on Ctrl-C.
 */
import { ApiError } from '../sdk/index.js';

export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  unreachable: 5,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI raises itself, with the exit code it means. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCodeValue,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(ExitCode.usage, message);

/** Network-level failures of fetch (undici) and of WebSocket connects. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'EPIPE',
]);

function networkCode(error: unknown): string | undefined {
  // fetch's own wrapper for every failure to get a response (refused, reset, DNS, blocked port).
  if (error instanceof TypeError && error.message === 'fetch failed') {
    const code = (error.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? code : 'fetch failed';
  }
  for (let current: unknown = error, depth = 0; current && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** TLS failures (unknown CA, bad certificate) are a connection problem too, with a hint. */
function tlsMessage(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /CERT|SSL|TLS|SELF_SIGNED/.test(code)) {
      return `TLS: ${(current as Error).message} (give the server's CA with --ca FILE or LDFLEET_CA)`;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function exitCodeOf(error: unknown): ExitCodeValue {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof ApiError) {
    if (error.status === 401 || error.status === 403) return ExitCode.auth;
    if (error.status === 404) return ExitCode.notFound;
    // A proxy or load balancer answering for a server that is down.
    if ([502, 503, 504].includes(error.status) && error.code === 'http_error') return ExitCode.unreachable;
    if (error.status >= 400 && error.status < 500) return ExitCode.usage;
    return ExitCode.failed;
  }
  if (networkCode(error) !== undefined || tlsMessage(error) !== undefined) return ExitCode.unreachable;
  return ExitCode.failed;
}

/** One line for people: the server's own message (and field details) where there is one. */
export function messageOf(error: unknown, server?: string): string {
  if (error instanceof ApiError) {
    const details = detailLines(error.details);
    const hint =
      error.status === 401 ? ' (log in again: ldfleet login)' : error.status === 403 ? ' (your role does not allow this)' : '';
    return `${error.body.error.message}${hint}${details.length > 0 ? `\n${details.map((line) => `  ${line}`).join('\n')}` : ''}`;
  }
  const tls = tlsMessage(error);
  if (tls !== undefined) return tls;
  const code = networkCode(error);
  if (code !== undefined) return `cannot reach the server${server ? ` at ${server}` : ''} (${code})`;
  return error instanceof Error ? error.message : String(error);
}

function detailLines(details: unknown): string[] {
  if (!Array.isArray(details)) return [];
  return details.slice(0, 10).map((detail: unknown) => {
    const { path, message } = (detail ?? {}) as { path?: unknown; message?: unknown };
    return typeof path === 'string' && typeof message === 'string' ? `${path || '/'}: ${message}` : JSON.stringify(detail);
  });
}
