/**
 * The servers unit: the list of server URLs a client (agent, CLI) is given, `URL1,URL2,…`
 * (several replicas of one server), which failures mean "try the next one", and fetch and
 * WebSocket wrappers that do so. No Node.js imports, so the agent bundle and the CLI share it.
 */
import type { WebSocketConstructorLike, WebSocketLike } from '../sdk/index.js';

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
    const path = input instanceof Request ? undefined : pathOn(first, String(input));
    if (servers.length < 2 || path === undefined || !replayable(init?.body)) return inner(input, init);
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

/**
 * A WebSocket class over several servers, for a caller that reconnects by itself (the sdk's
 * event subscription): a URL built on the first server (its ws:/wss: form) goes to the server
 * whose socket opened last, and a socket that fails before it opens moves that choice to the
 * next server, so the caller's next dial tries it. A socket that opened and dropped later leaves
 * the choice alone: its server is tried first again. Other URLs go to `Inner` unchanged.
 */
export function failoverWebSocket(servers: readonly string[], Inner: WebSocketConstructorLike): WebSocketConstructorLike {
  const bases = servers.map(webSocketFormOf);
  let working = 0;
  const opened = (index: number) => {
    working = index;
  };
  // Only from the server still chosen: two sockets failing on it together move on once, not twice.
  const failed = (index: number) => {
    if (working === index) working = (index + 1) % bases.length;
  };
  return class FailoverWebSocket implements WebSocketLike {
    onopen: WebSocketLike['onopen'] = null;
    onmessage: WebSocketLike['onmessage'] = null;
    onclose: WebSocketLike['onclose'] = null;
    onerror: WebSocketLike['onerror'] = null;
    private readonly inner: WebSocketLike;
    /** Whether this socket already said which server works: it opened, failed, or its owner closed it. */
    private decided = false;

    constructor(url: string) {
      const path = bases.length < 2 ? undefined : pathOn(bases[0] ?? '', url);
      const index = working;
      this.inner = new Inner(path === undefined ? url : `${bases[index]}${path}`);
      if (path === undefined) this.decided = true;
      const decide = (outcome: (index: number) => void) => {
        if (this.decided) return;
        this.decided = true;
        outcome(index);
      };
      this.inner.onopen = (event) => {
        decide(opened);
        this.onopen?.(event);
      };
      this.inner.onmessage = (event) => this.onmessage?.(event);
      // A failed connect reports an error, then a close (a browser, `ws`); either one moves on.
      this.inner.onerror = (event) => {
        decide(failed);
        this.onerror?.(event);
      };
      this.inner.onclose = (event) => {
        decide(failed);
        this.onclose?.(event);
      };
    }

    get readyState(): number {
      return this.inner.readyState;
    }

    close(code?: number, reason?: string): void {
      // Closed by its owner while connecting says nothing about the server.
      this.decided = true;
      this.inner.close(code, reason);
    }
  };
}

/** A server URL's WebSocket form: http://h → ws://h, https://h → wss://h (as the sdk builds the events URL). */
function webSocketFormOf(server: string): string {
  return server.replace(/^http(s?):/, 'ws$1:');
}

/** What `href` has after `base` (path, query), or undefined when it is not a URL on `base`. */
function pathOn(base: string, href: string): string | undefined {
  if (!href.startsWith(base)) return undefined;
  const rest = href.slice(base.length);
  // `ws://h` is not the base of `ws://h:8080/…` or `ws://host/…`.
  return rest === '' || rest.startsWith('/') || rest.startsWith('?') ? rest : undefined;
}
