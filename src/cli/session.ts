/**
 * What every command needs: the output, and a client for the chosen server with its credential.
 * `LDFLEET_SERVER` and `LDFLEET_TOKEN` (an API token) override the profile, for scripts and CI.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ApiError, LdfleetClient } from '../sdk/index.js';
import type { ClientOptions, TokenPair, WebSocketConstructorLike } from '../sdk/index.js';
import { checkProfileName, readProfile, saveProfile, withCredentialsLock } from './credentials.js';
import type { Profile } from './credentials.js';
import { CliError, ExitCode } from './exit-codes.js';
import { createOutput } from './output.js';
import type { Output } from './output.js';
import { ServerListError, failoverFetch, failoverWebSocket, serverUrlsOf } from '../servers/index.js';

export interface GlobalFlags {
  profile?: string;
  json?: boolean;
  verbose?: boolean;
  ca?: string;
}

export interface Session {
  readonly output: Output;
  readonly profileName: string;
  readonly server: string;
  readonly client: LdfleetClient;
  /** The WebSocket class for the event stream (Node 20 has no global one), trusting `--ca`; loaded when first needed. */
  readonly webSocket: () => Promise<WebSocketConstructorLike>;
}

export function globalFlags(command: Command): GlobalFlags {
  return command.optsWithGlobals<GlobalFlags>();
}

export function profileNameOf(flags: GlobalFlags): string {
  return checkProfileName(flags.profile ?? process.env.LDFLEET_PROFILE ?? 'default');
}

/**
 * How a client reaches `server` (one URL, or several replicas comma-separated): the client's
 * base options and the WebSocket class of its event stream, trusting an extra CA (a
 * self-signed server) or the defaults.
 */
export async function connectionTo(server: string, caFile: string | undefined): Promise<{ base: ClientOptions; webSocket: () => Promise<WebSocketConstructorLike> }> {
  const servers = serversOf(server);
  const { fetch: fetchImpl, webSocket } = await transport(caFile, servers);
  return { base: { baseUrl: servers[0] ?? server, ...(fetchImpl ? { fetch: fetchImpl } : {}) }, webSocket };
}

/** fetch and WebSocket for `servers`. undici and ws are loaded only when needed, so a plain list starts fast. */
async function transport(caFile: string | undefined, servers: readonly string[]): Promise<{ fetch?: typeof fetch; webSocket: () => Promise<WebSocketConstructorLike> }> {
  const chosen = await transportFor(caFile);
  // Several replicas: an unreachable one is skipped (an HTTP error answer is not), and the event
  // stream, which the sdk dials on the first server, redials the next one when a connect fails.
  if (servers.length < 2) return chosen;
  return {
    fetch: failoverFetch(servers, chosen.fetch ?? ((input, init) => fetch(input, init))),
    webSocket: async () => failoverWebSocket(servers, await chosen.webSocket()),
  };
}

/** `--server URL1,URL2,…` (or LDFLEET_SERVER, or the profile's) as URLs; a usage error when one is not. */
export function serversOf(text: string): string[] {
  try {
    return serverUrlsOf(text);
  } catch (error) {
    if (error instanceof ServerListError) throw new CliError(ExitCode.usage, `--server: ${error.message}`);
    throw error;
  }
}

async function transportFor(caFile: string | undefined): Promise<{ fetch?: typeof fetch; webSocket: () => Promise<WebSocketConstructorLike> }> {
  if (caFile === undefined) {
    return { webSocket: async () => (await import('ws')).WebSocket as unknown as WebSocketConstructorLike };
  }
  let ca: string;
  try {
    ca = readFileSync(caFile, 'utf8');
  } catch (error) {
    throw new CliError(ExitCode.usage, `cannot read the CA file ${caFile}: ${(error as Error).message}`);
  }
  const { Agent, fetch: undiciFetch } = await import('undici');
  const dispatcher = new Agent({ connect: { ca } });
  const fetchWithCa = ((input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) =>
    undiciFetch(input, { ...init, dispatcher })) as unknown as typeof fetch;
  const webSocket = async () => {
    const { WebSocket } = await import('ws');
    return class CaWebSocket extends WebSocket {
      constructor(url: string) {
        super(url, { ca });
      }
    } as unknown as WebSocketConstructorLike;
  };
  return { fetch: fetchWithCa, webSocket };
}

export function caOf(flags: GlobalFlags, profile?: Profile): string | undefined {
  return flags.ca ?? process.env.LDFLEET_CA ?? profile?.ca;
}

/** A logged-in session, or exit 3 with how to log in. */
export async function openSession(command: Command): Promise<Session> {
  const flags = globalFlags(command);
  const output = createOutput(flags);
  const profileName = profileNameOf(flags);
  const profile = readProfile(profileName);
  const server = process.env.LDFLEET_SERVER ?? profile?.server;
  if (server === undefined) {
    throw new CliError(ExitCode.auth, `not logged in${profileName === 'default' ? '' : ` (profile ${profileName})`}: run ldfleet login --server URL, or set LDFLEET_SERVER and LDFLEET_TOKEN`);
  }
  const { base, webSocket } = await connectionTo(server, caOf(flags, profile));
  const apiToken = process.env.LDFLEET_TOKEN;
  if (apiToken !== undefined && apiToken !== '') {
    return { output, profileName, server, client: new LdfleetClient({ ...base, token: apiToken }), webSocket };
  }
  if (profile?.refreshToken === undefined) {
    throw new CliError(ExitCode.auth, `not logged in to ${server}: run ldfleet login${profileName === 'default' ? '' : ` --profile ${profileName}`}`);
  }
  const anonymous = new LdfleetClient(base);
  const client = new LdfleetClient({ ...base, refresher: () => refreshStored(anonymous, profileName) });
  await client.refresh();
  return { output, profileName, server, client, webSocket };
}

/**
 * Trades the stored refresh token for a new pair and stores the new one, under the lock, so
 * parallel ldfleet processes never present the same (single-use) token twice.
 */
async function refreshStored(anonymous: LdfleetClient, profileName: string): Promise<TokenPair> {
  return withCredentialsLock(async () => {
    const profile = readProfile(profileName);
    if (profile?.refreshToken === undefined) throw new CliError(ExitCode.auth, 'not logged in: run ldfleet login');
    let pair: TokenPair;
    try {
      pair = await anonymous.refresh(profile.refreshToken);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        throw new CliError(ExitCode.auth, `the session has expired or was revoked: run ldfleet login${profileName === 'default' ? '' : ` --profile ${profileName}`}`);
      }
      throw error;
    }
    saveProfile(profileName, { ...profile, refreshToken: pair.refreshToken });
    return pair;
  });
}
