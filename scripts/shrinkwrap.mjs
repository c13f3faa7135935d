#!/usr/bin/env node
/**
 * The packed tarball carries the lockfile as npm-shrinkwrap.json, so `npm install -g` of it gets
 * the versions this repository tests (and that support Node 20: the `overrides` of package.json
 * apply only to this repository, not to an install of the package). Each entry gets its tarball
 * address on the configured registry, so an install can come from npm's cache alone (`--offline`).
 * `--remove` cleans up after `npm pack`, leaving package-lock.json the repository's one lockfile.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = `${root}npm-shrinkwrap.json`;
if (process.argv.includes('--remove')) {
  rmSync(target, { force: true });
} else {
  const npm = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
  const registry = execFileSync(npm[0], [...npm[1], 'config', 'get', 'registry'], { encoding: 'utf8' }).trim().replace(/\/+$/, '');
  const lock = JSON.parse(readFileSync(`${root}package-lock.json`, 'utf8'));
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.resolved || entry.link || !entry.version) continue;
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const base = name.includes('/') ? name.split('/')[1] : name;
    entry.resolved = `${registry}/${name}/-/${base}-${entry.version}.tgz`;
  }
  writeFileSync(target, `${JSON.stringify(lock, null, 2)}\n`);
}
