/** A small history-API router: the dashboard has a handful of routes and needs no library. */
import { useSyncExternalStore } from 'react';

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => notify());

function notify(): void {
  for (const listener of listeners) listener();
}

export interface Location {
  path: string;
  search: string;
}

let current: Location = read();
function read(): Location {
  return { path: window.location.pathname, search: window.location.search };
}

export function useLocation(): Location {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => {
      const now = read();
      if (now.path !== current.path || now.search !== current.search) current = now;
      return current;
    },
  );
}

/** Goes to `to` (path and search); `replace` for changes that should not add history (filter typing). */
export function navigate(to: string, replace = false): void {
  if (to === window.location.pathname + window.location.search) return;
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  notify();
}

/** Sets or removes one search parameter of the current URL. */
export function setSearchParam(key: string, value: string | null, replace = false): void {
  const params = new URLSearchParams(window.location.search);
  if (value === null) params.delete(key);
  else params.set(key, value);
  const search = params.toString();
  navigate(`${window.location.pathname}${search ? `?${search}` : ''}`, replace);
}
