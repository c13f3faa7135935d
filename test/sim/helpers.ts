import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIM_BIN, SimHome, type SimHomeOptions } from '../../src/sim/index.js';

export interface SimRun {
  stdout: Buffer;
  /** stdout decoded as UTF-8 (fine for ASCII output). */
  text: string;
  /** The low byte of the exit code, as a POSIX parent sees it. */
  code: number;
}

export function newHome(options: SimHomeOptions = {}): SimHome {
  return SimHome.create(mkdtempSync(join(tmpdir(), 'ldsim-')), options);
}

/** Spawns the simulator as a real process and captures raw bytes. */
export function sim(home: SimHome, args: string[], extraEnv: Record<string, string> = {}, timeout = 15_000): Promise<SimRun> {
  return new Promise((resolve, reject) => {
    execFile(SIM_BIN, args, { encoding: 'buffer', env: home.env(extraEnv), timeout }, (error, stdout, stderr) => {
      if (stderr.length > 0) return reject(new Error(`sim stderr: ${stderr.toString()}`));
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      if (error && error.killed) return reject(Object.assign(new Error('sim killed'), { killed: true }));
      resolve({ stdout, text: stdout.toString('utf8'), code });
    });
  });
}

/** The byte a signed Windows exit code becomes on POSIX. */
export const byte = (signed: number): number => signed & 0xff;

export const crlf = (...lines: string[]): string => lines.map((line) => `${line}\r\n`).join('');
