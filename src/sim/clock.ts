import type { SimPaths } from './home.js';
import { readJsonIfExists, writeJsonAtomic } from './fsutil.js';

interface ClockFile {
  offsetMs: number;
}

/** The warp offset tests apply so time passes without sleeping. */
export function readClockOffset(paths: SimPaths): number {
  const offset = readJsonIfExists<ClockFile>(paths.clock)?.offsetMs;
  return typeof offset === 'number' && Number.isFinite(offset) ? offset : 0;
}

export function writeClockOffset(paths: SimPaths, offsetMs: number): void {
  writeJsonAtomic(paths.clock, { offsetMs } satisfies ClockFile);
}

/** The sim's "now": wall clock plus the warp offset. */
export function simNow(paths: SimPaths): number {
  return Date.now() + readClockOffset(paths);
}
