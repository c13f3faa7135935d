import { spawn } from 'node:child_process';

/**
 * Kills a process and everything it started. ldconsole starts dnplayer/adb helpers, and a
 * timed-out call must not leave them behind.
 *
 * POSIX: the child was spawned `detached`, so it leads its own process group; signalling the
 * negative pid reaches every member. Windows: `taskkill /T` walks the parent-child tree.
 */
export function killProcessTree(pid: number): void {
  if (process.platform === 'win32') {
    const taskkill = spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true });
    taskkill.on('error', () => undefined);
    return;
  }
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (_groupGone) {
    // The group may already be gone; fall back to the single process in case it was not a leader.
    try {
      process.kill(pid, 'SIGKILL');
    } catch (_processGone) {
      // Nothing left to kill.
    }
  }
}
