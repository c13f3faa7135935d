import { appendFileSync, mkdirSync } from 'node:fs';
import type { SimPaths } from './home.js';

/** One line of `<home>/sim-calls.log`. `start`/`end` are wall-clock ms; `simStart`/`simEnd` the warped clock. */
export interface CallRecord {
  pid: number;
  command: string;
  args: string[];
  index?: number;
  start: number;
  end: number;
  simStart: number;
  simEnd: number;
  exitCode: number;
}

/** One short O_APPEND write per call, so lines from parallel processes never interleave. */
export function appendCall(paths: SimPaths, record: CallRecord): void {
  mkdirSync(paths.home, { recursive: true }); // a help call on a fresh home has created nothing yet
  appendFileSync(paths.callLog, `${JSON.stringify(record)}\n`);
}
