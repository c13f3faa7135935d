import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LdfleetClient } from '../../src/sdk/index.js';

const LDFLEET_BIN = fileURLToPath(new URL('../../bin/ldfleet', import.meta.url));

/** Process ids whose command line mentions the demo folder (its agents and their simulators). */
function processesUsing(dir: string): number[] {
  const table = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return table
    .split('\n')
    .filter((line) => line.includes(dir))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

describe('ldfleet demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ldfleet-demo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows a live fleet through the API with one-time credentials, and Ctrl-C leaves nothing running', async () => {
    const demo = spawn(
      process.execPath,
      [LDFLEET_BIN, 'demo', '--port', '0', '--workstations', '2', '--instances', '3', '--boot-ms', '200', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const banner = await new Promise<string>((resolve, reject) => {
      demo.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Press Ctrl-C')) resolve(output);
      });
      demo.once('exit', (code) => reject(new Error(`demo exited with ${code}: ${output}`)));
    });

    const url = /API:\s+(http:\/\/\S+)\/api\/v1/.exec(banner)?.[1];
    const password = /password:\s+(\S+)/.exec(banner)?.[1];
    expect(url).toBeDefined();
    expect(password).toBeDefined();
    const client = new LdfleetClient({ baseUrl: url! });
    await client.login('admin', password!);

    const workstations = await client.listWorkstations();
    expect(workstations.items.map((w) => w.status)).toEqual(['online', 'online']);
    const emulators = await client.listEmulators({ limit: 100 });
    expect(emulators.total).toBe(6);
    const names = emulators.items.map((e) => e.name);
    expect(names.some((name) => /[\u4e00-\u9fff]/.test(name) || /[\u0400-\u04ff]/.test(name))).toBe(true);
    expect(emulators.items.some((e) => e.state === 'running')).toBe(true);
    expect(emulators.items.some((e) => e.state === 'stopped')).toBe(true);
    expect(processesUsing(dir).length).toBeGreaterThanOrEqual(2);

    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    demo.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(processesUsing(dir)).toEqual([]);
  });
});
