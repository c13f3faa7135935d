import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LocalExecutor } from '../../src/exec/index.js';
import { LdConsole } from '../../src/ldconsole/index.js';

/** A stand-in ldconsole that prints its argv as JSON, so list3 returns exactly what arrived. */
const dir = mkdtempSync(join(tmpdir(), 'ldfleet-argv-'));
const echo = join(dir, 'echo-ldconsole');
writeFileSync(echo, '#!/usr/bin/env node\nprocess.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
chmodSync(echo, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ld = new LdConsole({ executor: new LocalExecutor(), path: echo });

describe('hostile names through LdConsole and the real executor', () => {
  it('arrive as single, verbatim arguments (property)', async () => {
    const hostile = fc.oneof(
      fc.constantFrom('a b', '"quoted"', 'a&b', '%PATH%', 'x;rm -rf /', '$(id)', '雷电模拟器-1', 'Эмулятор', '\\"\\', 'a\\', 'a --index 3', 'x-1'),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
    );
    // NUL and line breaks cannot be titles, and a leading "-" would read as an option; the driver
    // refuses them before spawning (test/security/driver-options.test.ts).
    const name = hostile.filter((s) => !/[\0\r\n]/.test(s) && !s.startsWith('-'));
    await fc.assert(
      fc.asyncProperty(name, async (title) => {
        const argv = JSON.parse(await ld.list3({ name: title })) as string[];
        expect(argv).toEqual(['list3', '--name', title]);
      }),
      { numRuns: 40 },
    );
  });
});
