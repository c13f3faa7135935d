/**
 * TLS between agent and server (issue 12): the server serves HTTPS/WSS from --tls-cert/--tls-key,
 * and an agent trusts a CA file or one pinned certificate, never sending its token to another.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/index.js';
import { SIM_BIN } from '../../src/sim/index.js';
import { createServer, loadConfig, type Server } from '../../src/server/index.js';
import { loadTrust, parseFingerprint } from '../../src/trust/index.js';
import { TEST_JWT_SECRET, createTestDatabase } from '../server/helpers.js';
import { eventually } from '../gateway/helpers.js';
import { newSimHome } from '../agent/helpers.js';
import { HostileGateway } from './helpers.js';

describe('TLS between agent and server', () => {
  let certDir: string;
  let cert: Buffer;
  let key: Buffer;
  let fingerprint: string;
  let t: { server: Server; url: string; close(): Promise<void> };

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'ldfleet-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'),
    ], { stdio: 'ignore' });
    cert = readFileSync(join(certDir, 'cert.pem'));
    key = readFileSync(join(certDir, 'key.pem'));
    const printed = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', join(certDir, 'cert.pem')]).toString();
    fingerprint = `sha256:${printed.split('=')[1]?.trim() ?? ''}`;
    // Started without the SDK helper: its fetch would not trust the self-signed certificate.
    const database = await createTestDatabase('sqlite');
    const config = loadConfig({
      env: {},
      overrides: { port: 0, host: '127.0.0.1', dataDir: database.dataDir, jwtSecret: TEST_JWT_SECRET, logLevel: 'silent', tlsCert: join(certDir, 'cert.pem'), tlsKey: join(certDir, 'key.pem') },
    });
    const server = await createServer(config, { print: () => undefined });
    const url = await server.listen();
    t = { server, url, close: async () => { await server.close(); await database.dispose(); } };
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  it('the server speaks HTTPS with --tls-cert/--tls-key', () => {
    expect(t.url.startsWith('https://')).toBe(true);
    expect(parseFingerprint(fingerprint)).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  async function agentWith(trust: Parameters<typeof loadTrust>[0], serverUrl = t.url): Promise<{ agent: Agent; workstationId: string }> {
    const { workstation, enrollmentToken } = await t.server.workstations.create({ name: `tls-${Math.random().toString(36).slice(2, 8)}` });
    const home = newSimHome();
    const agent = new Agent({ serverUrl, token: enrollmentToken, ldconsolePath: SIM_BIN, installDir: home.dir, ldconsoleEnv: home.env(), trust: loadTrust(trust), backoff: { baseMs: 100, capMs: 200 }, authRetryMs: 200 });
    agent.start();
    return { agent, workstationId: workstation.id };
  }

  it('an agent trusting the CA file or the pinned fingerprint connects over wss', async () => {
    for (const trust of [{ ca: join(certDir, 'cert.pem') }, { fingerprint }]) {
      const { agent, workstationId } = await agentWith(trust);
      try {
        await eventually(() => agent.welcomed, 20_000, 'the welcome over TLS');
        await eventually(async () => (await t.server.workstations.get(workstationId)).status === 'online', 10_000, 'the workstation online');
      } finally {
        await agent.stop();
      }
    }
  });

  it('a wrong fingerprint or no trust never sends the token to the server', async () => {
    const wrong = `sha256:${'00:'.repeat(31)}00`;
    const hostile = new HostileGateway({ cert, key });
    const url = await hostile.listen();
    try {
      for (const trust of [{ fingerprint: wrong }, {}]) {
        const { agent } = await agentWith(trust, url);
        // Several dial attempts, none of which may reach the upgrade (where the token travels).
        const dialled = hostile.connections;
        await eventually(() => hostile.connections >= dialled + 3, 20_000, 'three dial attempts');
        expect(agent.welcomed).toBe(false);
        expect(hostile.upgrades).toBe(0);
        await agent.stop();
      }
    } finally {
      await hostile.close();
    }
  });
});
