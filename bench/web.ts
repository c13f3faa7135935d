/**
 * `npm run bench:web`: the dashboard against a server holding 10,000 emulators (20 workstations
 * × 500, their inventory put in through the fleet unit as agents' messages are), in Debian's
 * chromium: the first render of the fleet view (navigation to the first rows, and to all
 * 10,000 loaded), the time from an `emulator.state` event leaving the server to the changed
 * row on screen (p50/p95) while 200 state changes a second stream in, the JS heap, and the
 * initial JS gzipped. Prints the figures and writes bench/web-results.json.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { adbSerialFor } from '../src/protocol/index.js';
import type { ObservedInstance } from '../src/protocol/index.js';
import { LdfleetClient } from '../src/sdk/index.js';
import { createServer, loadConfig } from '../src/server/index.js';
import { ensureWebBuilt, launchBrowser } from '../test/web/browser.js';

const WORKSTATIONS = 20;
const PER_WORKSTATION = 500;
const CHANGES_PER_SECOND = 200;
const STORM_SECONDS = 10;
const ADMIN_PASSWORD = 'bench-web-password-0123';
const ROOT = fileURLToPath(new URL('..', import.meta.url));

function instance(index: number, workstation: number, running: boolean): ObservedInstance {
  return {
    index,
    generation: `b${workstation}-${index}`,
    name: `ws${String(workstation).padStart(2, '0')}-farm-${String(index).padStart(3, '0')}`,
    state: running ? 'running' : 'stopped',
    booted: running,
    pids: running ? { player: 1000 + index, vbox: 2000 + index } : null,
    settings: {
      cpu: 2, memoryMb: 2048, resolution: { width: 1280, height: 720, dpi: 240 }, manufacturer: 'samsung', model: 'SM-G9880',
      phoneNumber: '', imei: '865166023456789', imsi: '460001234567890', simSerial: '89860012345678901234',
      androidId: '0123456789abcdef', mac: '00DB8E123456', autoRotate: false, lockWindow: false, root: false,
    },
    adbSerial: adbSerialFor(index),
  };
}

/**
 * Runs in the page before the dashboard: marks (page clock; Date.now() is the same wall clock as
 * this process) the first row, all rows loaded, and each row's change of state.
 */
const PAGE_MARKS = `
  const marks = { firstRow: 0, allLoaded: 0, changes: [] };
  window.benchMarks = marks;
  new MutationObserver((records) => {
    const now = Date.now();
    if (!marks.firstRow && document.querySelector('tr[data-emulator]')) marks.firstRow = performance.now();
    if (!marks.allLoaded && /^10,?000 instances$/.test(document.querySelector('[data-testid=fleet-count]')?.textContent ?? '')) marks.allLoaded = performance.now();
    for (const record of records) {
      if (record.type === 'attributes' && record.attributeName === 'data-state' && record.target.dataset.emulator) {
        marks.changes.push({ id: record.target.dataset.emulator, state: record.target.dataset.state, at: now });
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'], characterData: true });
`;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

/** The gzipped size of the JS index.html loads before anything else. */
function initialJsGzipBytes(): number {
  const dir = join(ROOT, 'dist', 'web');
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const scripts = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((match) => match[1]!);
  return scripts.reduce((sum, path) => sum + gzipSync(readFileSync(join(dir, path))).length, 0);
}

ensureWebBuilt();
const dir = mkdtempSync(join(tmpdir(), 'ldfleet-bench-web-'));
const server = await createServer(
  loadConfig({ env: { LDFLEET_DATA_DIR: dir, LDFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD, LDFLEET_LOG_LEVEL: 'warn' }, overrides: { port: 0 } }),
);
const browser = await launchBrowser({ width: 1440, height: 900 });
try {
  const url = await server.listen();
  const client = new LdfleetClient({ baseUrl: url });
  await client.login('admin', ADMIN_PASSWORD);
  const workstationIds: string[] = [];
  const running = new Map<string, boolean>();
  for (let w = 0; w < WORKSTATIONS; w += 1) {
    const { workstation } = await client.createWorkstation({ name: `pc-${w}`, tags: [w % 2 === 0 ? 'even' : 'odd'] });
    workstationIds.push(workstation.id);
    const upserts = Array.from({ length: PER_WORKSTATION }, (_, index) => instance(index, w, index % 3 === 0));
    await server.fleet.applyInventory(workstation.id, { type: 'inventory', full: true, upserts, removed: [] });
    for (let index = 0; index < PER_WORKSTATION; index += 1) running.set(`${w}:${index}`, index % 3 === 0);
  }
  const total = (await client.listEmulators({ limit: 1 })).total;

  const page = await browser.context.newPage();
  // Marks, in the page's clock (the same wall clock as this process): first row, all loaded, and each row's state change.
  await page.addInitScript({ content: PAGE_MARKS });
  await page.goto(url);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('tr[data-emulator]').first().waitFor();

  // First render: a fresh load of the fleet view in a signed-in tab (the session restores from sessionStorage).
  const firstRender: number[] = [];
  const allLoaded: number[] = [];
  for (let round = 0; round < 3; round += 1) {
    await page.reload();
    // Polled with evaluate (waitForFunction evals in the page, which the dashboard's CSP refuses).
    const deadline = Date.now() + 60_000;
    while (!(await page.evaluate('window.benchMarks.allLoaded > 0'))) {
      if (Date.now() > deadline) throw new Error('the fleet view did not load 10,000 rows in 60 s');
      await new Promise((done) => setTimeout(done, 50));
    }
    const marks = await page.evaluate<{ firstRow: number; allLoaded: number }>('window.benchMarks');
    firstRender.push(marks.firstRow);
    allLoaded.push(marks.allLoaded);
  }

  // Which rows are on screen: the storm changes them among the others, and their changes are timed.
  const visible = await page.evaluate<string[]>("[...document.querySelectorAll('tr[data-emulator]')].map((row) => row.dataset.emulator)");
  const emulators = await client.all((p) => client.listEmulators(p));
  const keyOf = new Map(emulators.map((emulator) => [emulator.id, { w: workstationIds.indexOf(emulator.workstationId), index: emulator.index }]));
  const onScreen = visible.slice(0, 20).map((id) => ({ id, ...keyOf.get(id)! }));
  const published = new Map<string, number[]>();
  const unsubscribe = server.bus.subscribe((event) => {
    if (event.type !== 'emulator.state') return;
    const id = (event.data as { id: string }).id;
    if (!published.has(id)) published.set(id, []);
    published.get(id)!.push(Date.parse(event.at));
  }, (type) => type === 'emulator.state');

  const tickMs = 50;
  const perTick = (CHANGES_PER_SECOND * tickMs) / 1000;
  const ticks = (STORM_SECONDS * 1000) / tickMs;
  const heapBefore = await heapUsed();
  for (let tick = 0; tick < ticks; tick += 1) {
    const started = Date.now();
    const changes: { w: number; index: number }[] = [];
    // One visible row per tick (20 a second on screen), the rest anywhere in the fleet.
    const visibleOne = onScreen[tick % onScreen.length]!;
    changes.push({ w: visibleOne.w, index: visibleOne.index });
    while (changes.length < perTick) changes.push({ w: Math.floor(Math.random() * WORKSTATIONS), index: Math.floor(Math.random() * PER_WORKSTATION) });
    const byWorkstation = new Map<number, ObservedInstance[]>();
    for (const change of changes) {
      const key = `${change.w}:${change.index}`;
      const next = !running.get(key);
      running.set(key, next);
      if (!byWorkstation.has(change.w)) byWorkstation.set(change.w, []);
      byWorkstation.get(change.w)!.push(instance(change.index, change.w, next));
    }
    for (const [w, upserts] of byWorkstation) {
      await server.fleet.applyInventory(workstationIds[w]!, { type: 'inventory', full: false, upserts, removed: [] });
    }
    await new Promise((done) => setTimeout(done, Math.max(0, tickMs - (Date.now() - started))));
  }
  await new Promise((done) => setTimeout(done, 1000));
  unsubscribe();
  const changes = await page.evaluate<{ id: string; at: number }[]>('window.benchMarks.changes');
  const seenAt = new Map<string, number[]>();
  for (const change of changes) {
    if (!seenAt.has(change.id)) seenAt.set(change.id, []);
    seenAt.get(change.id)!.push(change.at);
  }
  const latencies: number[] = [];
  for (const { id } of onScreen) {
    const sent = published.get(id) ?? [];
    const seen = seenAt.get(id) ?? [];
    // The n-th change sent shows as the n-th change seen (a later one may supersede it within a frame: skipped).
    let cursor = 0;
    for (const at of sent) {
      while (cursor < seen.length && seen[cursor]! < at) cursor += 1;
      if (cursor < seen.length) latencies.push(seen[cursor]! - at);
    }
  }
  const heapAfter = await heapUsed();
  const results = {
    emulators: total,
    firstRenderMs: { samples: firstRender.map(Math.round), median: Math.round(percentile(firstRender, 0.5)) },
    allRowsLoadedMs: { samples: allLoaded.map(Math.round), median: Math.round(percentile(allLoaded, 0.5)) },
    eventToScreen: { changesPerSecond: CHANGES_PER_SECOND, seconds: STORM_SECONDS, measured: latencies.length, p50Ms: percentile(latencies, 0.5), p95Ms: percentile(latencies, 0.95), maxMs: Math.max(...latencies) },
    jsHeapMb: { afterLoad: round1(heapBefore / 2 ** 20), afterStorm: round1(heapAfter / 2 ** 20) },
    initialJsGzipKb: round1(initialJsGzipBytes() / 1024),
  };
  console.table({
    'first render (ms, median of 3)': results.firstRenderMs.median,
    'all 10,000 rows loaded (ms)': results.allRowsLoadedMs.median,
    'event → row on screen p50 (ms)': results.eventToScreen.p50Ms,
    'event → row on screen p95 (ms)': results.eventToScreen.p95Ms,
    'JS heap after the storm (MB)': results.jsHeapMb.afterStorm,
    'initial JS gzipped (KB)': results.initialJsGzipKb,
  });
  writeFileSync(join(ROOT, 'bench', 'web-results.json'), `${JSON.stringify(results, null, 2)}\n`);

  async function heapUsed(): Promise<number> {
    const session = await browser.context.newCDPSession(page);
    await session.send('HeapProfiler.collectGarbage');
    const { usedSize } = await session.send('Runtime.getHeapUsage');
    await session.detach();
    return usedSize;
  }
} finally {
  await browser.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
