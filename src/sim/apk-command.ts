/**
 * `ldconsole-sim apk --package com.example.hello > hello.apk`: writes a minimal APK the simulator
 * (and the server's upload route) reads the package name of, to try app installs end to end.
 * It holds no code a real Android could run: on a real LDPlayer, install a real APK.
 */
import { writeSync } from 'node:fs';
import { buildTestApk } from '../apk/index.js';

const PACKAGE = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$/;
const USAGE = 'usage: ldconsole-sim apk --package com.example.hello > hello.apk\n';

function packageOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--package') return args[i + 1];
    if (arg.startsWith('--package=')) return arg.slice('--package='.length);
  }
  return undefined;
}

/** Writes the APK to stdout; returns the exit code (2 on a usage error). */
export function apkCommand(args: readonly string[]): number {
  const packageName = packageOf(args);
  if (packageName === undefined || !PACKAGE.test(packageName)) {
    process.stderr.write(packageName === undefined ? USAGE : `ldconsole-sim apk: "${packageName}" is not a package name like com.example.hello\n${USAGE}`);
    return 2;
  }
  if (process.stdout.isTTY) {
    process.stderr.write(`ldconsole-sim apk: an APK is binary; redirect it to a file\n${USAGE}`);
    return 2;
  }
  writeSync(1, buildTestApk(packageName));
  return 0;
}
