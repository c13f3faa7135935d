/**
 * `npm run bench:list`: how fast the emulator list pages on a fleet of 10,000 emulators
 * (20 workstations × 500), on a quiet machine: every page of `GET /api/v1/emulators?limit=500`,
 * and filtered pages. The inventory goes in through the fleet unit, as agents' messages do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adbSerialFor } from '../src/protocol/index.js';
import type { ObservedInstance } from '../src/protocol/index.js';
import { LdfleetClient } from '../src/sdk/index.js';
import { createServer, loadConfig } from '../src/server/index.js';

const WORKSTATIONS = 20;
const PER_WORKSTATION = 500;
const ADMIN_PASSWORD = 'bench-list-password-0123';

function instance(index: number, workstation: number): ObservedInstance {
  return {
    index,
    generation: `b${workstation}-${index}`,
    name: `ws${workstation}-farm-${index}`,
    state: index % 3 === 0 ? 'running' : 'stopped',
    booted: index % 3 === 0,
    pids: index % 3 === 0 ? { player: 1000 + index, vbox: 2000 + index } : null,
    settings: {
      cpu: 2, memoryMb: 2048, resolution: { width: 1280, height: 720, dpi: 240 }, manufacturer: 'samsung', model: 'SM-G9880',
      phoneNumber: '', imei: '865166023456789', imsi: '460001234567890', simSerial: '89860012345678901234',
      androidId: '0123456789abcdef', mac: '00DB8E123456', autoRotate: false, lockWindow: false, root: false,
    },
    adbSerial: adbSerialFor(index),
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

const dir = mkdtempSync(join(tmpdir(), 'ldfleet-bench-list-'));
const server = await createServer(
  loadConfig({ env: { LDFLEET_DATA_DIR: dir, LDFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD, LDFLEET_LOG_LEVEL: 'warn' }, overrides: { port: 0 } }),
);
try {
  const url = await server.listen();
  const client = new LdfleetClient({ baseUrl: url });
  await client.login('admin', ADMIN_PASSWORD);
  for (let w = 0; w < WORKSTATIONS; w += 1) {
    const { workstation } = await client.createWorkstation({ name: `pc-${w}`, tags: [w % 2 === 0 ? 'even' : 'odd'] });
    const upserts = Array.from({ length: PER_WORKSTATION }, (_, index) => instance(index, w));
    await server.fleet.applyInventory(workstation.id, { type: 'inventory', full: true, upserts, removed: [] });
  }
  const total = (await client.listEmulators({ limit: 1 })).total;

  const fullScans: number[] = [];
  const pages: number[] = [];
  for (let round = 0; round < 5; round += 1) {
    fullScans.push(
      await timed(async () => {
        let cursor: string | undefined;
        do {
          const started = performance.now();
          const page = await client.listEmulators({ limit: 500, ...(cursor ? { cursor } : {}) });
          pages.push(performance.now() - started);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
      }),
    );
  }
  const filtered: number[] = [];
  for (let round = 0; round < 50; round += 1) {
    filtered.push(await timed(() => client.listEmulators({ limit: 500, state: 'running', q: 'farm-4' })));
  }

  const rows = [
    ['emulators in the store', String(total)],
    ['GET /emulators?limit=500, each page: p50 / p99', `${percentile(pages, 0.5).toFixed(1)} / ${percentile(pages, 0.99).toFixed(1)} ms (${pages.length} pages)`],
    ['all 10,000 through the cursor: p50', `${percentile(fullScans, 0.5).toFixed(0)} ms`],
    ['?state=running&q=farm-4&limit=500: p50 / p99', `${percentile(filtered, 0.5).toFixed(1)} / ${percentile(filtered, 0.99).toFixed(1)} ms`],
  ];
  for (const [what, figure] of rows) process.stdout.write(`${what!.padEnd(48)} ${figure}\n`);
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
