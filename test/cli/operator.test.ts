/**
 * The operator CLI end to end: every command spawned as a process (bin/ldfleet from dist/)
 * against a real server with two simulated workstations, in --json and in human mode.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApk } from '../../src/apk/index.js';
import type { Batch, Emulator, Operation } from '../../src/sdk/index.js';
import { startOpsFleet } from '../ops/helpers.js';
import type { OpsFleet } from '../ops/helpers.js';
import { freePort } from '../support/ports.js';
import { LDFLEET_BIN, ldfleet, ldfleetTty, login, newHome } from './helpers.js';

const ESCAPE = '\u001b[';

// Every step spawns a Node process, a few seconds each on a loaded machine.
describe('ldfleet operator commands', { timeout: 120_000 }, () => {
  let fleet: OpsFleet;
  let url: string;
  const homes: string[] = [];
  let admin: string;
  const home = () => {
    const dir = newHome();
    homes.push(dir);
    return dir;
  };
  const named = async (name: string): Promise<Emulator> => {
    const found = (await fleet.emulators()).find((emulator) => emulator.name === name);
    if (!found) throw new Error(`no emulator ${name}`);
    return found;
  };

  beforeAll(async () => {
    fleet = await startOpsFleet(
      'sqlite',
      [
        {
          name: 'pc-a',
          limits: { maxConcurrentBoots: 4, launchIntervalMs: 0 },
          seed: [
            { name: 'ok-a-0' }, { name: 'ok-a-1' }, { name: 'fail-a-0' }, { name: 'tty-a-0' }, { name: 'tty-a-1' },
            { name: 'view-a-0' }, { name: 'slow-a-0' }, { name: 'run-a-0', running: true },
          ],
        },
        {
          name: 'pc-b',
          limits: { maxConcurrentBoots: 4, launchIntervalMs: 0 },
          seed: [{ name: 'ok-b-0' }, { name: 'ok-b-1' }, { name: 'fail-b-0' }, { name: 'tty-b-0' }],
        },
      ],
      // Retries stay on (a loaded machine has its glitches); the injected fault fails every attempt.
      { retryBaseDelayMs: 50 },
    );
    url = fleet.t.url;
    const [a, b] = fleet.workstations;
    await fleet.t.admin.updateWorkstation(a!.id, { tags: ['rack-a'] });
    await fleet.t.admin.updateWorkstation(b!.id, { tags: ['rack-b'] });
    admin = home();
    await login(admin, url, 'admin', fleet.t.adminPassword);
  }, 90_000);
  afterAll(async () => {
    await fleet?.close();
    for (const dir of homes) rmSync(dir, { recursive: true, force: true });
  });

  it('logs in then whoami; the credentials file is 0600 in a 0700 folder and holds no password', async () => {
    const dir = home();
    const run = await login(dir, url, 'admin', fleet.t.adminPassword);
    expect(run.stdout).toContain(`logged in to ${url} as admin (admin)`);

    const human = await ldfleet(['whoami'], { home: dir });
    expect(human).toMatchObject({ code: 0, stdout: `admin (admin) on ${url}\n` });
    const json = await ldfleet(['whoami', '--json'], { home: dir });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ server: url, role: 'admin', user: { username: 'admin' }, via: 'access' });

    const file = join(dir, '.config', 'ldfleet', 'credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, '.config', 'ldfleet')).mode & 0o777).toBe(0o700);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(fleet.t.adminPassword);
    const stored = JSON.parse(text) as { profiles: Record<string, { server: string; refreshToken: string; password?: string }> };
    expect(stored.profiles.default?.server).toBe(url);
    expect(stored.profiles.default?.refreshToken).toMatch(/\S{20,}/);
    expect(Object.keys(stored.profiles.default!).sort()).toEqual(['refreshToken', 'server', 'username']);
  });

  it('keeps profiles apart, and parallel commands share the single-use refresh token without revoking it', async () => {
    const dir = home();
    await login(dir, url, 'admin', fleet.t.adminPassword);
    const runs = await Promise.all(Array.from({ length: 4 }, () => ldfleet(['whoami', '--json'], { home: dir })));
    expect(runs.map((run) => run.code)).toEqual([0, 0, 0, 0]);
    expect((await ldfleet(['whoami'], { home: dir })).code).toBe(0);

    const other = await ldfleet(['--profile', 'night', 'whoami'], { home: dir });
    expect(other.code).toBe(3);
    expect(other.stderr).toContain('profile night');
  });

  it('lists workstations and emulators with each filter, as tables and as JSON', async () => {
    const table = await ldfleet(['workstations', 'list'], { home: admin });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+NAME\s+STATUS/);
    expect(table.stdout).toMatch(/pc-a\s+online/);
    expect(table.stdout).not.toContain(ESCAPE);
    const tagged = JSON.parse((await ldfleet(['workstations', 'list', '--tag', 'rack-a', '--json'], { home: admin })).stdout) as { items: { name: string }[] };
    expect(tagged.items.map((w) => w.name)).toEqual(['pc-a']);

    const list = async (...args: string[]) => {
      const run = await ldfleet(['emulators', 'list', '--json', '--all', ...args], { home: admin });
      expect(run.code).toBe(0);
      return (JSON.parse(run.stdout) as { items: Emulator[] }).items.map((emulator) => emulator.name).sort();
    };
    expect(await list('--workstation', 'pc-b')).toEqual(['fail-b-0', 'ok-b-0', 'ok-b-1', 'tty-b-0']);
    expect(await list('--state', 'running')).toEqual(['run-a-0']);
    expect(await list('--tag', 'rack-b')).toEqual(['fail-b-0', 'ok-b-0', 'ok-b-1', 'tty-b-0']);
    expect(await list('--query', 'fail-')).toEqual(['fail-a-0', 'fail-b-0']);

    const human = await ldfleet(['emulators', 'list', '--query', 'ok-'], { home: admin });
    expect(human.code).toBe(0);
    expect(human.stdout.split('\n')[0]).toMatch(/^ID\s+WORKSTATION\s+INDEX\s+NAME\s+STATE/);
    for (const name of ['ok-a-0', 'ok-a-1', 'ok-b-0', 'ok-b-1']) expect(human.stdout).toContain(name);
  });

  it('shows one emulator by workstation/name; a missing one exits 4', async () => {
    const shown = await ldfleet(['emulators', 'show', 'pc-a/run-a-0', '--json'], { home: admin });
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ name: 'run-a-0', state: 'running' });
    const human = await ldfleet(['emulators', 'show', 'pc-a/run-a-0'], { home: admin });
    expect(human.stdout).toMatch(/state\s+running/);

    const missing = await ldfleet(['emulators', 'show', 'pc-a/nobody'], { home: admin });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('no emulator named "nobody"');
    const missingId = await ldfleet(['emulators', 'start', '0000000000000000000000000000', '--json'], { home: admin });
    expect(missingId.code).toBe(4);
  });

  it('a batch start by --where with --wait exits 0 when every target succeeds', async () => {
    const human = await ldfleet(['emulators', 'start', '--where', 'q=ok-,state=stopped', '--wait'], { home: admin });
    // The output first, so a failure shows what the CLI printed.
    expect(human.stdout + human.stderr).toMatch(/^batch (\w+): waiting for 4 start operations \(Ctrl-C stops waiting\)\n✓ batch \1 start: 4 succeeded, 0 failed of 4\n$/);
    expect(human.code).toBe(0);
    expect(human.stdout).not.toContain(ESCAPE);
    expect((await fleet.emulators()).filter((e) => e.name.startsWith('ok-')).map((e) => e.state)).toEqual(['running', 'running', 'running', 'running']);

    const json = await ldfleet(['emulators', 'stop', '--where', 'q=ok-', '--wait', '--json'], { home: admin });
    expect(json.code).toBe(0);
    const batch = JSON.parse(json.stdout) as Batch & { failures: Operation[] };
    expect(batch).toMatchObject({ action: 'stop', total: 4, counts: { succeeded: 4, failed: 0 }, failures: [] });
    expect(batch.finishedAt).toBeDefined();
  });

  it('a failure injected on one workstation: the batch exits 1 and prints that failure', async () => {
    const target = await named('fail-b-0');
    const home_ = fleet.workstations[1]!.home;
    home_.setFaults([{ command: 'launch', index: target.index, output: 'boom: the VM would not start\r\n', exitCode: 7 }]);
    try {
      const human = await ldfleet(['emulators', 'start', '--where', 'q=fail-', '--wait'], { home: admin });
      expect(human.code).toBe(1);
      expect(human.stdout).toMatch(/✗ pc-b\/fail-b-0 start failed: \w+\/\w+: /);
      expect(human.stdout).toMatch(/batch \w+ start: 1 succeeded, 1 failed of 2/);

      const json = await ldfleet(['emulators', 'start', '--where', 'q=fail-b', '--wait', '--json'], { home: admin });
      expect(json.code).toBe(1);
      expect(json.stderr).toMatch(/✗ pc-b\/fail-b-0 start failed/);
      const batch = JSON.parse(json.stdout) as Batch & { failures: Operation[] };
      expect(batch.counts.failed).toBe(1);
      expect(batch.failures).toHaveLength(1);
      expect(batch.failures[0]).toMatchObject({ emulatorId: target.id, status: 'failed' });
      expect(batch.failures[0]?.error?.category).toBeTypeOf('string');
    } finally {
      home_.clearFaults();
    }
  });

  it('installs an APK file on one emulator and on several, and launches, kills and uninstalls it as a batch', async () => {
    const dir = home();
    const apk = join(dir, 'cli-test.apk');
    writeFileSync(apk, buildTestApk('com.example.clitest'));
    const one = await ldfleet(['apps', 'install', apk, 'pc-a/run-a-0', '--wait'], { home: admin });
    expect(one.stdout + one.stderr).toContain('✓ installApp pc-a/run-a-0 succeeded');
    expect(one.code).toBe(0);
    const second = await named('fail-a-0');
    if (second.state !== 'running') await fleet.waitOperation((await fleet.t.admin.emulatorAction(second.id, 'start')).id);
    const several = await ldfleet(['apps', 'install', apk, 'pc-a/run-a-0', 'pc-a/fail-a-0', '--wait', '--json'], { home: admin });
    expect(several.stderr).toBe('');
    expect(several.code).toBe(0);
    const operations = (JSON.parse(several.stdout) as { items: Operation[] }).items;
    expect(operations.map((operation) => [operation.action, operation.status])).toEqual([['installApp', 'succeeded'], ['installApp', 'succeeded']]);
    for (const verb of ['launch', 'kill', 'uninstall']) {
      const run = await ldfleet(['apps', verb, 'com.example.clitest', 'pc-a/run-a-0', 'pc-a/fail-a-0', '--wait'], { home: admin });
      expect(run.stdout + run.stderr).toMatch(/succeeded, 0 failed of 2/);
      expect(run.code).toBe(0);
    }
    expect((await ldfleet(['apps', 'launch', 'not a package', 'pc-a/run-a-0'], { home: admin })).code).toBe(2);
  });

  it('Ctrl-C stops waiting with 130 and leaves the batch running', async () => {
    const workstation = fleet.workstations[0]!;
    const target = await named('slow-a-0');
    workstation.home.setFaults([{ command: 'launch', index: target.index, delayMs: 4000 }]);
    try {
      const child = spawn(process.execPath, [LDFLEET_BIN, 'emulators', 'start', '--where', 'q=slow-', '--wait'], {
        env: { ...process.env, HOME: admin, XDG_CONFIG_HOME: join(admin, '.config') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const batchId = await new Promise<string>((resolve, reject) => {
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const id = /^batch (\w+): waiting for/m.exec(stdout)?.[1];
          if (id) resolve(id);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${stdout}${stderr}`)));
      });
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stderr).toContain(`stopped waiting; batch ${batchId} goes on`);
      expect((await fleet.waitBatch(batchId)).counts.succeeded).toBe(1);
    } finally {
      workstation.home.clearFaults();
    }
  });

  it('runs a shell command on one emulator and prints its output', async () => {
    const human = await ldfleet(['emulators', 'shell', 'pc-a/run-a-0', '--wait', '--', 'echo', 'hello'], { home: admin });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('hello');
    const json = await ldfleet(['emulators', 'shell', 'pc-a/run-a-0', '--wait', '--json', '--', 'echo hi there'], { home: admin });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ action: 'shell', status: 'succeeded', result: { output: expect.stringContaining('hi there') } });
  });

  it('--no-wait returns at once with the operation or batch id', async () => {
    const human = await ldfleet(['emulators', 'restart', 'pc-a/run-a-0', '--no-wait'], { home: admin });
    expect(human.code).toBe(0);
    const id = /^operation (\w+) queued: restart pc-a\/run-a-0$/m.exec(human.stdout)?.[1];
    expect(id).toBeDefined();
    await fleet.waitOperation(id!);

    const json = await ldfleet(['emulators', 'stop', '--where', 'q=fail-', '--no-wait', '--json'], { home: admin });
    expect(json.code).toBe(0);
    const batch = JSON.parse(json.stdout) as Batch;
    expect(batch).toMatchObject({ action: 'stop', total: 2 });
    expect((await fleet.waitBatch(batch.id)).counts.succeeded).toBe(2);
    const shown = await ldfleet(['batches', 'show', batch.id, '--json'], { home: admin });
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: batch.id, status: 'succeeded', operations: [{ status: 'succeeded' }, { status: 'succeeded' }] });
  });

  it("a viewer's start exits 3", async () => {
    const password = 'viewer-password-123456';
    await fleet.t.admin.createUser({ username: 'watcher', password, role: 'viewer' });
    const dir = home();
    await login(dir, url, 'watcher', password);
    expect((await ldfleet(['emulators', 'list', '--json'], { home: dir })).code).toBe(0);
    const human = await ldfleet(['emulators', 'start', 'pc-a/view-a-0', '--wait'], { home: dir });
    expect(human.code).toBe(3);
    expect(human.stderr).toContain('role');
    const json = await ldfleet(['emulators', 'start', '--where', 'q=view-', '--json'], { home: dir });
    expect(json.code).toBe(3);
    expect((await named('view-a-0')).state).toBe('stopped');
  });

  it('a bad --where exits 2 with a message naming the key; the server\'s own validation also exits 2', async () => {
    const bad = await ldfleet(['emulators', 'start', '--where', 'colour=red'], { home: admin });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown key "colour"');
    const badJson = await ldfleet(['emulators', 'stop', '--where', 'state=flying', '--json'], { home: admin });
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('state "flying"');
    const server = await ldfleet(['emulators', 'modify', 'pc-a/view-a-0', '--cpu', '9', '--no-wait'], { home: admin });
    expect(server.code).toBe(2);
    expect(server.stderr).toContain('cpu');
    expect((await ldfleet(['emulators', 'start', '--bogus'], { home: admin })).code).toBe(2);
  });

  it('the server down exits 5', async () => {
    const port = await freePort();
    const env = { LDFLEET_SERVER: `http://127.0.0.1:${port}`, LDFLEET_TOKEN: 'ldf_not_checked' };
    const human = await ldfleet(['emulators', 'list'], { home: home(), env });
    expect(human.code).toBe(5);
    expect(human.stderr).toContain(`cannot reach the server at http://127.0.0.1:${port}`);
    expect((await ldfleet(['whoami', '--json'], { home: home(), env })).code).toBe(5);
    const loginDown = await ldfleet(['login', '--server', `http://127.0.0.1:${port}`, '--username', 'admin', '--password-stdin'], { home: home(), input: 'x\n' });
    expect(loginDown.code).toBe(5);
  });

  it('an API token in LDFLEET_TOKEN overrides the file, for scripts', async () => {
    const created = await ldfleet(['tokens', 'create', 'ci', '--role', 'viewer', '--json'], { home: admin });
    expect(created.code).toBe(0);
    const { token } = JSON.parse(created.stdout) as { token: string };
    const env = { LDFLEET_SERVER: url, LDFLEET_TOKEN: token };
    const me = await ldfleet(['whoami', '--json'], { home: home(), env });
    expect(JSON.parse(me.stdout)).toMatchObject({ role: 'viewer', via: 'api-token' });
    const tokens = await ldfleet(['tokens', 'list'], { home: admin });
    expect(tokens.stdout).toMatch(/ci\s+viewer/);
  });

  it('manages users and reads the audit log (admin)', async () => {
    const added = await ldfleet(['users', 'add', 'night-op', '--role', 'operator', '--password-stdin'], { home: admin, input: 'night-op-password-1234\n' });
    expect(added.stdout).toMatch(/^user night-op \(operator\) created/);
    const users = await ldfleet(['users', 'list'], { home: admin });
    expect(users.stdout).toMatch(/night-op\s+operator\s+no/);
    expect((await ldfleet(['users', 'edit', 'night-op', '--disable'], { home: admin })).stdout).toContain('disabled');
    const audit = await ldfleet(['audit', '--action', 'auth.login', '--all', '--json'], { home: admin });
    expect(audit.code).toBe(0);
    const entries = (JSON.parse(audit.stdout) as { items: { action: string; actorName: string | null }[] }).items;
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((entry) => entry.action === 'auth.login')).toBe(true);
    expect((await ldfleet(['users', 'remove', 'night-op'], { home: admin })).code).toBe(0);
    expect((await ldfleet(['users', 'remove', 'night-op'], { home: admin })).code).toBe(4);
  });

  it('workstations add prints the enrollment token once and the agent command line', async () => {
    const added = await ldfleet(['workstations', 'add', 'pc-new', '--tag', 'spare', '--max-boots', '2'], { home: admin });
    expect(added.code).toBe(0);
    const token = /enrollment token \(shown once, keep it secret\): (\S+)/.exec(added.stdout)?.[1];
    expect(token).toBeDefined();
    expect(added.stdout).toContain(`$env:LDFLEET_AGENT_TOKEN = '${token}'; ldfleet agent --server ${url}`);
    // The install block of src/install: download from this server, token into the user's environment.
    expect(added.stdout).toContain(`$server = '${url}'`);
    expect(added.stdout).toContain('$server/downloads/ldfleet-agent.mjs');
    expect(added.stdout).toContain('Register-ScheduledTask');
    expect(added.stdout.split(token!).length - 1).toBeGreaterThanOrEqual(2);
    const shown = JSON.parse((await ldfleet(['workstations', 'show', 'pc-new', '--json'], { home: admin })).stdout) as { tags: string[]; limits: object };
    expect(shown).toMatchObject({ tags: ['spare'], limits: { maxConcurrentBoots: 2 } });
    expect(JSON.stringify(shown)).not.toContain(token);
    expect((await ldfleet(['workstations', 'remove', 'pc-new'], { home: admin })).code).toBe(0);
    expect((await ldfleet(['workstations', 'show', 'pc-new'], { home: admin })).code).toBe(4);
  });

  it('events tails the stream as JSON lines', async () => {
    const tail = await tailEvents(admin, ['--topics', 'batch.*', '--count', '2']);
    try {
      const batch = JSON.parse((await ldfleet(['emulators', 'stop', '--where', 'q=ok-', '--no-wait', '--json'], { home: admin })).stdout) as Batch;
      expect(await tail.exited).toBe(0);
      const events = tail.stdout().trim().split('\n').map((line) => JSON.parse(line) as { type: string; data: { id: string } });
      expect(events).toHaveLength(2);
      expect(events[0]).toMatchObject({ type: 'batch.created', data: { id: batch.id } });
      expect(events[1]?.type).toMatch(/^batch\./);
      await fleet.waitBatch(batch.id);
    } finally {
      tail.kill();
    }
  });

  it('events reaches the next replica of --server URL1,URL2 when the first one is down', async () => {
    const dir = home();
    await login(dir, `http://127.0.0.1:${await freePort()},${url}`, 'admin', fleet.t.adminPassword);
    const tail = await tailEvents(dir, ['--topics', 'batch.*', '--count', '1']);
    try {
      const batch = JSON.parse((await ldfleet(['emulators', 'stop', '--where', 'q=ok-', '--no-wait', '--json'], { home: dir })).stdout) as Batch;
      expect(await tail.exited).toBe(0);
      expect(JSON.parse(tail.stdout())).toMatchObject({ type: 'batch.created', data: { id: batch.id } });
      await fleet.waitBatch(batch.id);
    } finally {
      tail.kill();
    }
  });

  it('on a terminal the batch waits by default and its progress bar moves and finishes; NO_COLOR turns bars off', async () => {
    const run = await ldfleetTty(['emulators', 'start', '--where', 'q=tty-', '--verbose'], { home: admin });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('█');
    const shown = [...run.stdout.matchAll(/start batch\s+\S*\s*(\d)\/3/g)].map((match) => Number(match[1]));
    expect(shown[0]).toBe(0);
    expect(shown.at(-1)).toBe(3);
    expect(run.stdout).toMatch(/pc-a .*\d\/2/);
    expect(run.stdout).toMatch(/pc-b .*\d\/1/);
    expect(run.stdout).toContain('3 succeeded, 0 failed of 3');

    const plain = await ldfleetTty(['emulators', 'stop', '--where', 'q=tty-'], { home: admin, env: { NO_COLOR: '1' } });
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain('█');
    for (const colour of ['31m', '32m', '33m', '36m']) expect(plain.stdout).not.toContain(ESCAPE + colour);
    expect(plain.stdout).toContain('3 succeeded, 0 failed of 3');
  });

  it('completion scripts for bash, zsh and PowerShell complete the commands', async () => {
    const bash = await ldfleet(['completion', 'bash'], { home: admin });
    expect(bash.code).toBe(0);
    const dir = home();
    const script = join(dir, 'ldfleet.bash');
    writeFileSync(script, bash.stdout);
    const completed = await new Promise<string>((resolve, reject) => {
      const child = spawn('bash', ['-c', `source ${script}; COMP_WORDS=(ldfleet emulators st); COMP_CWORD=2; _ldfleet; echo "\${COMPREPLY[*]}"`]);
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.once('error', reject);
      child.once('close', () => resolve(out.trim()));
    });
    expect(completed.split(' ').sort()).toEqual(['start', 'stop']);
    for (const shell of ['zsh', 'powershell']) {
      const run = await ldfleet(['completion', shell], { home: admin });
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('emulators');
    }
    expect((await ldfleet(['completion', 'fish'], { home: admin })).code).toBe(2);
  });

  it('logout ends the session on the server and forgets it', async () => {
    const dir = home();
    await login(dir, url, 'admin', fleet.t.adminPassword);
    const out = await ldfleet(['logout', '--json'], { home: dir });
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ server: url, revoked: true });
    expect(readFileSync(join(dir, '.config', 'ldfleet', 'credentials.json'), 'utf8')).not.toContain('refreshToken');
    expect((await ldfleet(['whoami'], { home: dir })).code).toBe(3);
    expect((await ldfleet(['logout'], { home: dir })).stdout).toBe('not logged in\n');
  });
});

/** How long `ldfleet events` may take to say it listens (its first dial may fail over, with a backoff of up to 0.5 s). */
const LISTENING_DEADLINE_MS = 10_000;

/**
 * Spawns `ldfleet events ARGS… --verbose` as the user logged in to `home` and resolves once it
 * says it listens (on stderr); `exited` resolves with its exit code.
 */
async function tailEvents(home: string, args: readonly string[]): Promise<{ exited: Promise<number | null>; stdout: () => string; kill: () => void }> {
  const child = spawn(process.execPath, [LDFLEET_BIN, 'events', ...args, '--verbose'], {
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const kill = () => child.kill('SIGKILL');
  try {
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      const timer = setTimeout(() => reject(new Error(`events did not listen in ${LISTENING_DEADLINE_MS} ms: ${stderr}`)), LISTENING_DEADLINE_MS);
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (!stderr.includes('listening for events')) return;
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`events exited ${code}: ${stderr}`));
      });
    });
  } catch (error) {
    kill();
    throw error;
  }
  return { exited, stdout: () => stdout, kill };
}
