import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleepSync } from './fsutil.js';
import type { SimPaths } from './home.js';

/** A lock older than this is presumed abandoned even if its owner pid looks alive (pid reuse). */
const STALE_AGE_MS = 30_000;
/** A lock folder without an owner file is only a lock being created; give it this long. */
const OWNERLESS_GRACE_MS = 2_000;
const GIVE_UP_MS = 60_000;

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockIsStale(lockDir: string): boolean {
  try {
    const owner = JSON.parse(readFileSync(join(lockDir, 'owner'), 'utf8')) as { pid: number; at: number };
    return !processIsAlive(owner.pid) || Date.now() - owner.at > STALE_AGE_MS;
  } catch {
    try {
      return Date.now() - statSync(lockDir).mtimeMs > OWNERLESS_GRACE_MS;
    } catch {
      return false; // the lock vanished: just retry
    }
  }
}

/** Moves a stale lock aside first so two recoverers cannot both delete a fresh lock. */
function breakStaleLock(lockDir: string): void {
  const aside = `${lockDir}.stale.${process.pid}.${Date.now()}`;
  try {
    renameSync(lockDir, aside);
    rmSync(aside, { recursive: true, force: true });
  } catch {
    // another process recovered it first
  }
}

function tryAcquire(lockDir: string): boolean {
  try {
    mkdirSync(lockDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  writeFileSync(join(lockDir, 'owner'), JSON.stringify({ pid: process.pid, at: Date.now() }));
  return true;
}

/**
 * Runs `work` holding the home-wide mutation lock: a `mkdir`, atomic on every file system, so
 * any number of sim processes can share one home.
 */
export function withHomeLock<T>(paths: SimPaths, work: () => T): T {
  mkdirSync(paths.home, { recursive: true });
  const deadline = Date.now() + GIVE_UP_MS;
  let wait = 1;
  while (!tryAcquire(paths.lockDir)) {
    if (lockIsStale(paths.lockDir)) {
      breakStaleLock(paths.lockDir);
      continue;
    }
    if (Date.now() > deadline) throw new Error(`sim: could not take ${paths.lockDir}`);
    sleepSync(wait);
    wait = Math.min(wait * 2, 20);
  }
  try {
    return work();
  } finally {
    rmSync(paths.lockDir, { recursive: true, force: true });
  }
}
