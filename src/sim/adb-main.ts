/**
 * `adb-sim`: the simulator's stand-in for LDPlayer's own `adb.exe`, on the same home as
 * `ldconsole-sim`. It takes adb's argv (`-s emulator-5554 shell <command>`), joins the words after
 * `shell` with spaces as adb does before handing them to the device's sh, prints adb's texts, and
 * puts errors on stderr with exit code 1, as adb does.
 */
import { appendCall } from './calllog.js';
import { runAdb } from './adb.js';
import { SimPaths, resolveHome } from './home.js';
import { renderResult } from './output.js';
import { settingsFromEnv, withHomeModes } from './settings.js';
import { SimStore } from './store.js';

const ADB_VERSION = ['Android Debug Bridge version 1.0.41', 'Version 34.0.4-ldfleet-sim'];

function serialIndex(serial: string | undefined): number | undefined {
  const match = /^emulator-(\d+)$/.exec(serial ?? '') ?? /^127\.0\.0\.1:(\d+)$/.exec(serial ?? '');
  if (!match) return undefined;
  const port = Number(match[1]);
  const base = serial?.startsWith('emulator-') ? 5554 : 5555;
  return port >= base && (port - base) % 2 === 0 ? (port - base) / 2 : undefined;
}

function main(): void {
  const start = Date.now();
  const paths = new SimPaths(resolveHome());
  const store = new SimStore(paths, withHomeModes(paths, settingsFromEnv()));
  const argv = process.argv.slice(2);
  let serial: string | undefined;
  if (argv[0] === '-s') {
    serial = argv[1];
    argv.splice(0, 2);
  }
  const [verb, ...rest] = argv;
  const out = (lines: string[]) => process.stdout.write(lines.map((line) => `${line}\n`).join(''));
  const fail = (message: string) => {
    process.stderr.write(`${message}\n`);
    process.exitCode = 1;
  };
  const index = serialIndex(serial);
  if (verb === 'version') out(ADB_VERSION);
  else if (verb === 'start-server') out([]);
  else if (verb === 'devices') {
    const running = store.all().filter((instance) => instance.runtime.session);
    out(['List of devices attached', ...running.map((instance) => `emulator-${5554 + 2 * instance.index}\t${(instance.runtime.session?.adbDebug ?? 1) === 0 ? 'offline' : 'device'}`), '']);
  } else if (verb === undefined) fail('adb: usage: no command given');
  else if (verb !== 'kill-server' && serial === undefined) fail('error: more than one device/emulator');
  else {
    const instance = index === undefined ? undefined : store.get(index);
    if (verb !== 'kill-server' && !instance) fail(`error: device '${serial ?? ''}' not found`);
    else {
      // adb joins every word after the verb with spaces; the device's sh parses the result.
      const result = runAdb(store, instance ?? { index: -1, title: '', config: {}, runtime: { installedApps: [], props: {} } }, [verb, ...rest].join(' '));
      const lines = result.lines ?? [];
      if (!result.bytes && lines.some((line) => line.startsWith('error:'))) fail(lines.join('\n'));
      else process.stdout.write(result.bytes ?? renderResult({ exitCode: 0, lines }, store.settings.encoding));
    }
  }
  appendCall(paths, { pid: process.pid, command: 'adb.exe', args: process.argv.slice(2), ...(index !== undefined ? { index } : {}), start, end: Date.now(), simStart: store.now(), simEnd: store.now(), exitCode: Number(process.exitCode ?? 0) });
}

main();
