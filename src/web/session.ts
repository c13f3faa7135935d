/**
 * The signed-in session: one SDK client for this origin, the token pair in memory (the refresh
 * token also in sessionStorage, so a reload of the tab stays signed in; never localStorage),
 * refreshed a minute before the access token expires; sign-out revokes it.
 */
import { useSyncExternalStore } from 'react';
import { LdfleetClient } from '../sdk/index.js';
import type { Role, TokenPair, User } from '../sdk/index.js';

const REFRESH_KEY = 'ldfleet.refreshToken';

export interface SessionState {
  user: User | null;
  role: Role | null;
  /** True until a stored refresh token has been tried. */
  restoring: boolean;
}

let client = new LdfleetClient({ baseUrl: window.location.origin });
let state: SessionState = { user: null, role: null, restoring: sessionStorage.getItem(REFRESH_KEY) !== null };
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<() => void>();

function set(next: SessionState): void {
  state = next;
  for (const listener of listeners) listener();
}

export function api(): LdfleetClient {
  return client;
}

export function useSession(): SessionState {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => state,
  );
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether the signed-in role reaches `least` (actions the API would refuse are not shown). */
export function can(role: Role | null, least: Role): boolean {
  return role !== null && RANK[role] >= RANK[least];
}

function adopt(pair: TokenPair): void {
  sessionStorage.setItem(REFRESH_KEY, pair.refreshToken);
  clearTimeout(refreshTimer);
  // Refresh a minute early (or halfway for short lives), so requests never meet an expired token.
  const lead = Math.min(60, pair.expiresIn / 2);
  refreshTimer = setTimeout(() => void refreshNow(), Math.max(1, pair.expiresIn - lead) * 1000);
  set({ user: pair.user, role: pair.user.role, restoring: false });
}

async function refreshNow(): Promise<void> {
  try {
    adopt(await client.refresh());
  } catch {
    forget();
  }
}

function forget(): void {
  clearTimeout(refreshTimer);
  sessionStorage.removeItem(REFRESH_KEY);
  client = new LdfleetClient({ baseUrl: window.location.origin });
  set({ user: null, role: null, restoring: false });
}

export async function signIn(username: string, password: string): Promise<void> {
  const fresh = new LdfleetClient({ baseUrl: window.location.origin });
  const pair = await fresh.login(username, password);
  client = fresh;
  adopt(pair);
}

export async function signOut(): Promise<void> {
  try {
    await client.logout();
  } finally {
    forget();
  }
}

/** At start: a refresh token left by this tab signs it in again. */
export async function restore(): Promise<void> {
  const stored = sessionStorage.getItem(REFRESH_KEY);
  if (stored === null) return;
  const fresh = new LdfleetClient({ baseUrl: window.location.origin, refreshToken: stored });
  try {
    const pair = await fresh.refresh();
    client = fresh;
    adopt(pair);
  } catch {
    forget();
  }
}
