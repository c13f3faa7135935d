import type {
  ApiToken,
  AuditEntry,
  AuditQuery,
  CreatedApiToken,
  ErrorBody,
  Me,
  Page,
  PageParams,
  Role,
  TokenPair,
  User,
  Workstation,
  WorkstationInput,
} from './types.js';
import type { Emulator, EmulatorQuery } from './fleet-types.js';
import type {
  ActionOptions,
  Batch,
  BatchInput,
  BatchQuery,
  InstalledApp,
  CreateEmulatorInput,
  Operation,
  OperationQuery,
  SettingsInput,
} from './ops-types.js';

/** A reply outside 2xx: the status and the server's error body. */
export class ApiError extends Error {
  readonly code: string;
  readonly details: unknown;

  constructor(
    readonly status: number,
    readonly body: ErrorBody,
    readonly headers: Headers,
  ) {
    super(`${status} ${body.error.code}: ${body.error.message}`);
    this.name = 'ApiError';
    this.code = body.error.code;
    this.details = body.error.details;
  }
}

export interface ClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8080` (without /api/v1). */
  baseUrl: string;
  /** An API token (`ldf_…`) or an access token; alternatively call `login()`. */
  token?: string;
  refreshToken?: string;
  fetch?: typeof fetch;
  /**
   * How to trade a refresh token for a new pair, instead of `POST /auth/refresh` with the one
   * held: a CLI whose processes share one stored refresh token serialises and persists it here.
   */
  refresher?: (refreshToken: string | undefined) => Promise<TokenPair>;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Send no Authorization header. */
  anonymous?: boolean;
  headers?: Record<string, string>;
}

/**
 * The typed client of the ldfleet API. After `login()` it keeps the token pair and, when the
 * access token has expired, refreshes once and retries the request.
 */
export class LdfleetClient {
  readonly baseUrl: string;
  private token: string | undefined;
  private refreshToken: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly refresher: ClientOptions['refresher'];

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.refreshToken = options.refreshToken;
    // Bound: a browser refuses `fetch` called as a method of another object ("Illegal invocation").
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.refresher = options.refresher;
  }

  /** The credential sent now (access or API token). */
  get currentToken(): string | undefined {
    return this.token;
  }

  get currentRefreshToken(): string | undefined {
    return this.refreshToken;
  }

  /** A client for the same server with another credential. */
  withToken(token: string | undefined): LdfleetClient {
    return new LdfleetClient({ baseUrl: this.baseUrl, token, fetch: this.fetchImpl });
  }

  // --- auth -------------------------------------------------------------------------------

  async login(username: string, password: string): Promise<TokenPair> {
    const pair = await this.request<TokenPair>('POST', '/auth/login', { body: { username, password }, anonymous: true });
    this.token = pair.accessToken;
    this.refreshToken = pair.refreshToken;
    return pair;
  }

  async refresh(refreshToken: string | undefined = this.refreshToken): Promise<TokenPair> {
    if (this.refresher === undefined && refreshToken === undefined) throw new Error('no refresh token: log in first');
    const pair = this.refresher
      ? await this.refresher(refreshToken)
      : await this.request<TokenPair>('POST', '/auth/refresh', { body: { refreshToken }, anonymous: true });
    this.token = pair.accessToken;
    this.refreshToken = pair.refreshToken;
    return pair;
  }

  /** Ends this client's session (or, without a refresh token, every session of the user). */
  async logout(): Promise<void> {
    await this.request<void>('POST', '/auth/logout', { body: this.refreshToken ? { refreshToken: this.refreshToken } : {} });
    this.token = undefined;
    this.refreshToken = undefined;
  }

  me(): Promise<Me> {
    return this.request('GET', '/auth/me');
  }

  // --- users (admin) ----------------------------------------------------------------------

  listUsers(page: PageParams = {}): Promise<Page<User>> {
    return this.request('GET', '/users', { query: { ...page } });
  }
  getUser(id: string): Promise<User> {
    return this.request('GET', `/users/${encodeURIComponent(id)}`);
  }
  createUser(input: { username: string; password: string; role: Role }): Promise<User> {
    return this.request('POST', '/users', { body: input });
  }
  updateUser(id: string, changes: { role?: Role; disabled?: boolean; password?: string }): Promise<User> {
    return this.request('PATCH', `/users/${encodeURIComponent(id)}`, { body: changes });
  }
  deleteUser(id: string): Promise<void> {
    return this.request('DELETE', `/users/${encodeURIComponent(id)}`);
  }

  // --- API tokens (own) -------------------------------------------------------------------

  listTokens(page: PageParams = {}): Promise<Page<ApiToken>> {
    return this.request('GET', '/tokens', { query: { ...page } });
  }
  createToken(input: { name: string; role?: Role; expiresAt?: string }): Promise<CreatedApiToken> {
    return this.request('POST', '/tokens', { body: input });
  }
  revokeToken(id: string): Promise<void> {
    return this.request('DELETE', `/tokens/${encodeURIComponent(id)}`);
  }

  // --- workstations -----------------------------------------------------------------------

  listWorkstations(params: PageParams & { tag?: string; status?: Workstation['status'] } = {}): Promise<Page<Workstation>> {
    return this.request('GET', '/workstations', { query: { ...params } });
  }
  getWorkstation(id: string): Promise<Workstation> {
    return this.request('GET', `/workstations/${encodeURIComponent(id)}`);
  }
  createWorkstation(input: WorkstationInput): Promise<{ workstation: Workstation; enrollmentToken: string }> {
    return this.request('POST', '/workstations', { body: input });
  }
  updateWorkstation(id: string, changes: Partial<WorkstationInput>): Promise<Workstation> {
    return this.request('PATCH', `/workstations/${encodeURIComponent(id)}`, { body: changes });
  }
  deleteWorkstation(id: string): Promise<void> {
    return this.request('DELETE', `/workstations/${encodeURIComponent(id)}`);
  }
  rotateEnrollmentToken(id: string): Promise<{ enrollmentToken: string }> {
    return this.request('POST', `/workstations/${encodeURIComponent(id)}/enrollment-token`);
  }

  // --- emulators (the inventory, read from the store) ---------------------------------------

  listEmulators(query: EmulatorQuery = {}): Promise<Page<Emulator>> {
    return this.request('GET', '/emulators', { query: { ...query } });
  }
  getEmulator(id: string): Promise<Emulator> {
    return this.request('GET', `/emulators/${encodeURIComponent(id)}`);
  }

  /**
   * The URL of the live event stream (`GET /api/v1/events`, a WebSocket) carrying this client's
   * token, for clients that cannot set headers; `topics` like `emulator.*,workstation.online`.
   */
  eventsUrl(topics?: string): string {
    const url = new URL(`${this.baseUrl}/api/v1/events`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (topics) url.searchParams.set('topics', topics);
    if (this.token) url.searchParams.set('token', this.token);
    return url.toString();
  }

  // --- audit (admin) ----------------------------------------------------------------------

  listAudit(query: AuditQuery = {}): Promise<Page<AuditEntry>> {
    return this.request('GET', '/audit', { query: { ...query } });
  }

  /** Every item of a paged list, following `nextCursor`. */
  async all<T>(list: (page: PageParams) => Promise<Page<T>>, pageSize = 1000): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await list({ limit: pageSize, ...(cursor ? { cursor } : {}) });
      items.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return items;
  }

  // --- outside /api/v1 --------------------------------------------------------------------

  // --- emulator actions, batches and operations (each action replies 202 with its operation)

  createEmulators(input: CreateEmulatorInput, options: ActionOptions = {}): Promise<Operation | Batch> {
    return this.request('POST', '/emulators', { body: input, headers: keyHeader(options) });
  }
  updateEmulator(
    id: string,
    changes: { name?: string; settings?: SettingsInput; restart?: boolean },
    options: ActionOptions = {},
  ): Promise<Operation> {
    return this.request('PATCH', `/emulators/${encodeURIComponent(id)}`, { body: changes, headers: keyHeader(options) });
  }
  deleteEmulator(id: string, options: ActionOptions = {}): Promise<Operation> {
    return this.request('DELETE', `/emulators/${encodeURIComponent(id)}`, { headers: keyHeader(options) });
  }
  emulatorAction(id: string, action: 'start' | 'stop' | 'restart', options: ActionOptions = {}): Promise<Operation> {
    return this.request('POST', `/emulators/${encodeURIComponent(id)}/${action}`, { ...graceBody(options), headers: keyHeader(options) });
  }
  installApp(id: string, packageName: string, options: ActionOptions = {}): Promise<Operation> {
    const body = options.offlineGraceMs === undefined ? { packageName } : { packageName, offlineGraceMs: options.offlineGraceMs };
    return this.request('POST', `/emulators/${encodeURIComponent(id)}/apps`, { body, headers: keyHeader(options) });
  }
  /** Uploads an APK (multipart, field `file`); the server sends it to the agent when the operation runs. */
  async uploadApp(id: string, apk: Uint8Array, fileName: string, options: ActionOptions = {}): Promise<Operation> {
    const form = new FormData();
    // Needed where the dashboard compiles this file with the DOM lib, whose BlobPart refuses a view
    // that may sit on a SharedArrayBuffer; lint sees only the Node program, where it is a no-op.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    form.append('file', new Blob([apk as Uint8Array<ArrayBuffer>], { type: 'application/vnd.android.package-archive' }), fileName);
    const response = await this.fetchWithAuth('POST', `/emulators/${encodeURIComponent(id)}/apps`, form, keyHeader(options));
    return (await response.json()) as Operation;
  }
  appAction(id: string, packageName: string, action: 'uninstall' | 'launch' | 'kill', options: ActionOptions = {}): Promise<Operation> {
    const base = `/emulators/${encodeURIComponent(id)}/apps/${encodeURIComponent(packageName)}`;
    return action === 'uninstall'
      ? this.request('DELETE', base, { headers: keyHeader(options) })
      : this.request('POST', `${base}/${action}`, { ...graceBody(options), headers: keyHeader(options) });
  }
  shell(id: string, command: string, options: ActionOptions = {}): Promise<Operation> {
    const body = options.offlineGraceMs === undefined ? { command } : { command, offlineGraceMs: options.offlineGraceMs };
    return this.request('POST', `/emulators/${encodeURIComponent(id)}/shell`, { body, headers: keyHeader(options) });
  }
  /** The screen as PNG bytes. */
  async screenshot(id: string): Promise<Uint8Array> {
    const response = await this.fetchWithAuth('GET', `/emulators/${encodeURIComponent(id)}/screenshot`);
    return new Uint8Array(await response.arrayBuffer());
  }
  createBatch(input: BatchInput, options: ActionOptions = {}): Promise<Batch> {
    return this.request('POST', '/batches', { body: input, headers: keyHeader(options) });
  }
  /** The installed packages, asked of the agent now (409 when stopped, 503 when its agent is offline). */
  listApps(id: string): Promise<{ items: InstalledApp[] }> {
    return this.request('GET', `/emulators/${encodeURIComponent(id)}/apps`);
  }
  listBatches(query: BatchQuery = {}): Promise<Page<Batch>> {
    return this.request('GET', '/batches', { query: { ...query } });
  }
  /** Cancels the rest: queued children are cancelled, running ones asked to stop. */
  cancelBatch(id: string): Promise<Batch> {
    return this.request('POST', `/batches/${encodeURIComponent(id)}/cancel`);
  }
  /** Queues the batch's failed children again. */
  retryBatch(id: string): Promise<Batch> {
    return this.request('POST', `/batches/${encodeURIComponent(id)}/retry`);
  }
  getBatch(id: string, page: PageParams = {}): Promise<Batch> {
    return this.request('GET', `/batches/${encodeURIComponent(id)}`, { query: { ...page } });
  }
  listOperations(query: OperationQuery = {}): Promise<Page<Operation>> {
    return this.request('GET', '/operations', { query: { ...query } });
  }
  getOperation(id: string): Promise<Operation> {
    return this.request('GET', `/operations/${encodeURIComponent(id)}`);
  }
  cancelOperation(id: string): Promise<Operation> {
    return this.request('POST', `/operations/${encodeURIComponent(id)}/cancel`);
  }
  retryOperation(id: string): Promise<Operation> {
    return this.request('POST', `/operations/${encodeURIComponent(id)}/retry`);
  }

  /** A request whose body or reply is not JSON; throws ApiError outside 2xx. */
  private async fetchWithAuth(method: string, path: string, body?: FormData, headers: Record<string, string> = {}): Promise<Response> {
    const all: Record<string, string> = { ...headers };
    if (this.token) all.authorization = `Bearer ${this.token}`;
    const response = await this.fetchImpl(new URL(`${this.baseUrl}/api/v1${path}`), { method, headers: all, body });
    if (!response.ok) {
      const parsed: unknown = await response.json().catch(() => undefined);
      const errorBody = isErrorBody(parsed) ? parsed : { error: { code: 'http_error', message: `HTTP ${response.status}` } };
      throw new ApiError(response.status, errorBody, response.headers);
    }
    return response;
  }

  async health(): Promise<{ status: string }> {
    return this.raw('GET', '/healthz');
  }
  async ready(): Promise<{ status: string; store: string }> {
    return this.raw('GET', '/readyz');
  }

  /** Any /api/v1 route: `path` is relative to /api/v1. Throws ApiError outside 2xx. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const send = () => this.raw<T>(method, `/api/v1${path}`, options);
    try {
      return await send();
    } catch (error) {
      const canRefresh =
        error instanceof ApiError && error.status === 401 && !options.anonymous && (this.refreshToken !== undefined || this.refresher !== undefined);
      if (!canRefresh) throw error;
      await this.refresh();
      return send();
    }
  }

  private async raw<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (!options.anonymous && this.token) headers.authorization = `Bearer ${this.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const response = await this.fetchImpl(url, { method, headers, body });
    const text = await response.text();
    const parsed = text.length > 0 ? (JSON.parse(text) as unknown) : undefined;
    if (!response.ok) {
      const errorBody = isErrorBody(parsed) ? parsed : { error: { code: 'http_error', message: `HTTP ${response.status}` } };
      throw new ApiError(response.status, errorBody, response.headers);
    }
    return parsed as T;
  }
}

function isErrorBody(value: unknown): value is ErrorBody {
  const error = (value as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}

function keyHeader(options: ActionOptions): Record<string, string> {
  return options.idempotencyKey === undefined ? {} : { 'idempotency-key': options.idempotencyKey };
}

/** The body of an action without parameters: only the offline grace, when one is given. */
function graceBody(options: ActionOptions): { body?: { offlineGraceMs: number } } {
  return options.offlineGraceMs === undefined ? {} : { body: { offlineGraceMs: options.offlineGraceMs } };
}
