/**
 * What the installed package knows about itself: its version and where its files are. The
 * agent bundle has no package folder beside it, so its build writes the version in
 * (`LDFLEET_BUNDLED_VERSION`, an esbuild define) and it never looks for files.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

declare const LDFLEET_BUNDLED_VERSION: string | undefined;

/** The package root: `src/package/` and `dist/package/` both sit two levels below it. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The version of package.json, e.g. `0.1.0`. */
export const VERSION: string = typeof LDFLEET_BUNDLED_VERSION === 'string' ? LDFLEET_BUNDLED_VERSION : readPackageVersion();

/** The self-contained agent that `npm run build` writes and the server hands out at `/downloads`. */
export const AGENT_BUNDLE_FILE = fileURLToPath(new URL('../../dist/agent/ldfleet-agent.mjs', import.meta.url));

function readPackageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error(`package.json under ${PACKAGE_ROOT} has no version`);
  return pkg.version;
}
