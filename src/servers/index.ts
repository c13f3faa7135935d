/**
 * The servers unit: the list of server URLs a client (agent, CLI) is given, `URL1,URL2,…`
 * (several replicas of one server), and which failures mean "try the next one". No Node.js
 * imports, so the agent bundle and the CLI share it.
 */

/** Splits `--server`/`LDFLEET_SERVER` text into its URLs, each checked; at least one. */
export function serverUrlsOf(text: string, allowed: readonly string[] = ['http:', 'https:']): string[] {
  const urls = text.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (urls.length === 0) throw new ServerListError('give at least one server URL, e.g. http://fleet.example:8080');
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ServerListError(`"${url}" is not a URL like http://fleet.example:8080`);
    }
    if (!allowed.includes(parsed.protocol)) throw new ServerListError(`"${url}" must be ${allowed.join(' or ')}//…, got ${parsed.protocol}`);
  }
  // The form `new URL` gives (lower-case host…), as the clients build their request URLs from it.
  return urls.map((url) => new URL(url).toString().replace(/\/+$/, ''));
}

export class ServerListError extends Error {}

/** Error codes of a connection that never reached a server: a request that failed so can go to the next one. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** True when `error` (a fetch rejection) says the server could not be reached at all. */
export function isUnreachable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE.has(code)) return true;
    // undici wraps connection errors of several addresses in an AggregateError.
    if (current instanceof AggregateError && current.errors.some((inner) => isUnreachable(inner))) return true;
  }
  return false;
}

/**
 * A fetch over several servers: a request whose server cannot be reached goes to the next one
 * (never one the server answered, whatever its status: that answer stands), and the server that
 * answered last takes the next request first. Requests are built on the first URL (the client's
 * base URL); a body that cannot be sent twice (a stream) goes to one server only.
 */
export function failoverFetch(servers: readonly string[], inner: typeof fetch): typeof fetch {
  const first = servers[0] ?? '';
  let working = 0;
  return async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const href = input instanceof Request ? input.url : String(input);
    if (servers.length < 2 || !href.startsWith(first) || input instanceof Request || !replayable(init?.body)) return inner(input, init);
    const path = href.slice(first.length);
    let lastError: unknown;
    for (let tried = 0; tried < servers.length; tried++) {
      const index = (working + tried) % servers.length;
      try {
        const response = await inner(`${servers[index]}${path}`, init);
        working = index;
        return response;
      } catch (error) {
        if (!isUnreachable(error)) throw error;
        lastError = error;
      }
    }
    throw lastError;
  };
}

function replayable(body: RequestInit['body']): boolean {
  return body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer || body instanceof URLSearchParams;
}
