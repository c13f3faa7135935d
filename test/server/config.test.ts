import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, createServer, loadConfig } from '../../src/server/index.js';
import { LdfleetClient } from '../../src/sdk/index.js';
import { createTestDatabase, describeStores } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/ldfleet', import.meta.url));

function problemsOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({ env: {} });
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      dataDir: './data',
      corsOrigins: [],
      accessTokenTtl: 900,
      refreshTokenTtl: 2_592_000,
      logLevel: 'info',
      trustProxy: false,
    });
    expect(config.jwtSecret).toBeUndefined();
    expect(config.adminPassword).toBeUndefined();
  });

  it('reads LDFLEET_* variables, converting their types, and flags win over them', () => {
    const config = loadConfig({
      env: { LDFLEET_PORT: '9000', LDFLEET_TRUST_PROXY: 'true', LDFLEET_CORS_ORIGINS: 'https://a.example, https://b.example:8443' },
      overrides: { host: '0.0.0.0' },
    });
    expect(config).toMatchObject({ port: 9000, trustProxy: true, host: '0.0.0.0', corsOrigins: ['https://a.example', 'https://b.example:8443'] });
  });

  it('names the bad key, its variable and what is allowed', () => {
    expect(problemsOf(() => loadConfig({ env: { LDFLEET_PORT: 'abc' } }))).toMatch(/port \(LDFLEET_PORT\): must be an integer 0–65535, got "abc"/);
    expect(problemsOf(() => loadConfig({ env: { LDFLEET_LOG_LEVEL: 'loud' } }))).toMatch(/logLevel \(LDFLEET_LOG_LEVEL\): must be one of fatal/);
    expect(problemsOf(() => loadConfig({ env: { LDFLEET_DATABASE_URL: 'mysql://x' } }))).toMatch(/databaseUrl/);
    const short = problemsOf(() => loadConfig({ env: { LDFLEET_ADMIN_PASSWORD: 'short' } }));
    expect(short).toMatch(/adminPassword \(LDFLEET_ADMIN_PASSWORD\): must be a password of at least 12 characters, got \(hidden\)/);
    expect(short).not.toContain('short"');
  });

  it('checks the config file: unknown keys, bad values, bad JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldfleet-config-'));
    try {
      const file = join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ port: 70000, colour: 'blue' }));
      const message = problemsOf(() => loadConfig({ env: {}, file }));
      expect(message).toMatch(/port \(LDFLEET_PORT\): must be an integer 0–65535, got 70000/);
      expect(message).toMatch(/colour: unknown setting/);
      writeFileSync(file, '{ nope');
      expect(problemsOf(() => loadConfig({ env: {}, file }))).toMatch(/--config: .* is not valid JSON/);
      writeFileSync(file, JSON.stringify({ port: 9100, accessTokenTtl: 60 }));
      expect(loadConfig({ env: { LDFLEET_PORT: '9200' }, file })).toMatchObject({ port: 9200, accessTokenTtl: 60 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeStores('first start', (kind) => {
  it('creates admin from the given password, or prints a generated one once; a second start creates nothing', async () => {
    for (const given of [undefined, 'given-password-123']) {
      const database = await createTestDatabase(kind);
      try {
        const printed: string[] = [];
        const config = loadConfig({
          env: {},
          overrides: { port: 0, dataDir: database.dataDir, databaseUrl: database.databaseUrl, logLevel: 'silent', adminPassword: given },
        });
        const start = async () => {
          const server = await createServer(config, { print: (text) => printed.push(text) });
          const url = await server.listen();
          return { server, url };
        };
        const first = await start();
        const password = given ?? /password:\s+(\S+)/.exec(printed.join(''))?.[1];
        expect(printed).toHaveLength(given ? 0 : 1);
        expect(password).toBeDefined();
        await new LdfleetClient({ baseUrl: first.url }).login('admin', password!);
        await first.server.close();

        const second = await start();
        expect(printed).toHaveLength(given ? 0 : 1);
        const users = await new LdfleetClient({ baseUrl: second.url }).login('admin', password!).then((pair) => pair.user);
        expect(users.username).toBe('admin');
        await second.server.close();

        const secrets = statSync(join(database.dataDir, 'secrets.key'));
        expect(secrets.mode & 0o777).toBe(0o600);
        expect(statSync(database.dataDir).mode & 0o777).toBe(0o700);
      } finally {
        await database.dispose();
      }
    }
  });
});

describe('ldfleet server (process)', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  function run(args: string[], env: Record<string, string>): { done: Promise<{ code: number | null; stdout: string; stderr: string }>; stdoutUntil(pattern: RegExp): Promise<string>; stop(): void } {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const waiters: { pattern: RegExp; resolve: (text: string) => void }[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      for (const waiter of waiters) if (waiter.pattern.test(stdout)) waiter.resolve(stdout);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      child.on('exit', (code) => resolve({ code, stdout, stderr })),
    );
    return {
      done,
      stdoutUntil: (pattern) =>
        new Promise((resolve, reject) => {
          if (pattern.test(stdout)) resolve(stdout);
          waiters.push({ pattern, resolve });
          void done.then(() => reject(new Error(`exited before ${pattern}: ${stdout}\n${stderr}`)));
        }),
      stop: () => child.kill('SIGTERM'),
    };
  }

  it('--check-config accepts a good configuration and refuses a bad one naming the key', async () => {
    const ok = await run(['server', '--check-config'], { LDFLEET_PORT: '9999' }).done;
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('configuration is valid');
    const bad = await run(['server', '--check-config', '--port', 'eighty'], {}).done;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/port \(LDFLEET_PORT\): must be an integer/);
  });

  it('prints a generated admin password once, serves, and shuts down on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ldfleet-cli-'));
    dirs.push(dataDir);
    const env = { LDFLEET_DATA_DIR: dataDir, LDFLEET_LOG_LEVEL: 'warn' };
    const first = run(['server', '--port', '0'], env);
    const out = await first.stdoutUntil(/listening on (http:\/\/\S+?) /);
    const url = /listening on (http:\/\/\S+?) /.exec(out)![1]!;
    const password = /password:\s+(\S+)/.exec(out)![1]!;
    await new LdfleetClient({ baseUrl: url }).login('admin', password);
    first.stop();
    expect((await first.done).code).toBe(0);

    const second = run(['server', '--port', '0'], env);
    const again = await second.stdoutUntil(/listening on/);
    expect(again).not.toMatch(/password:/);
    second.stop();
    expect((await second.done).code).toBe(0);
  });
});
