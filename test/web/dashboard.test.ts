/**
 * The dashboard end to end: a real server with simulated workstations, Debian's chromium
 * driving the built dashboard. One fleet and one browser for the whole file; the steps build
 * on each other in order. Screenshots of each view go to test-artifacts/web/.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIM_BIN, buildTestApk } from '../../src/sim/index.js';
import type { OpsFleet } from '../ops/helpers.js';
import { eventually, startOpsFleet } from '../ops/helpers.js';
import { ARTIFACTS, ensureWebBuilt, launchBrowser } from './browser.js';
import type { TestBrowser } from './browser.js';

const seed = (stem: string) => Array.from({ length: 4 }, (_, index) => ({ name: `${stem}-${index}`, running: stem === 'bravo' && index === 0 }));

let fleet: OpsFleet;
let browser: TestBrowser;
let page: Page;
/** While true, the page's event stream is refused (the stream "drops"). */
let streamBlocked = false;
const streams = new Set<WebSocketRoute>();

const shot = (target: Page, name: string) => target.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });
const row = (name: string) => page.locator('tr[data-emulator]', { has: page.getByRole('link', { name, exact: true }) });
const emulatorNamed = async (name: string) => (await fleet.emulators()).find((emulator) => emulator.name === name)!;

async function signIn(target: Page, username: string, password: string): Promise<void> {
  await target.goto(fleet.t.url);
  await target.getByLabel('Username').fill(username);
  await target.getByLabel('Password').fill(password);
  await target.getByRole('button', { name: 'Sign in' }).click();
}

describe('web dashboard (chromium)', () => {
  beforeAll(async () => {
    ensureWebBuilt();
    fleet = await startOpsFleet('sqlite', [
      { name: 'pc-a', seed: seed('alpha'), bootMs: 150 },
      { name: 'pc-b', seed: seed('bravo'), bootMs: 150 },
    ], { retryBaseDelayMs: 100, loginMaxPerUser: 4, loginMaxPerIp: 1000 });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    await page.routeWebSocket(/\/api\/v1\/events/, (ws) => {
      if (streamBlocked) return void ws.close({ code: 1011, reason: 'test: stream down' });
      streams.add(ws);
      ws.onClose(() => streams.delete(ws));
      ws.connectToServer();
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
  });

  it('serves the dashboard with its CSP, long-cached assets and a SPA fallback', async () => {
    const index = await fetch(`${fleet.t.url}/workstations`);
    expect(index.status).toBe(200);
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toMatch(/connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:/);
    expect(csp).toContain("img-src 'self' blob: data:");
    const html = await index.text();
    const nonce = /style-src 'self' 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(html).toContain(`content="${nonce}"`);
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    const js = await fetch(`${fleet.t.url}${asset}`);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${fleet.t.url}/api/v1/nothing`)).status).toBe(404);
    expect((await fetch(`${fleet.t.url}/assets/missing.js`)).status).toBe(404);
  });

  it('refuses a wrong password and a rate-limited login with their messages, then signs in and lists the fleet', async () => {
    await page.goto(fleet.t.url);
    await shot(page, '01-sign-in');
    await signIn(page, 'admin', 'not-the-password');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('wrong user name or password');
    for (let attempt = 0; attempt < 5; attempt += 1) await signIn(page, 'nobody', 'guess');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Too many attempts');
    await signIn(page, 'admin', fleet.t.adminPassword);
    await page.getByRole('table', { name: 'Emulators' }).waitFor();
    await expect.poll(() => page.locator('tr[data-emulator]').count()).toBe(8);
    await expect.poll(() => row('bravo-0').getAttribute('data-state')).toBe('booted');
    expect(await page.evaluate('[localStorage.length, Object.keys(sessionStorage)]')).toEqual([0, ['ldfleet.refreshToken']]);
    await shot(page, '02-fleet');
  }, 60_000);

  it('filters by text into the URL, and a shared URL shows the same view', async () => {
    await page.getByLabel('Search names').fill('alpha');
    await expect.poll(() => page.locator('tr[data-emulator]').count()).toBe(4);
    expect(new URL(page.url()).searchParams.get('q')).toBe('alpha');
    await page.goto(`${fleet.t.url}/?q=bravo&state=stopped`);
    await expect.poll(() => page.locator('tr[data-emulator]').count()).toBe(3);
  }, 60_000);

  it('selects all matching the filter, starts them, follows the batch to 100 % and the rows turn booted', async () => {
    await page.goto(`${fleet.t.url}/?q=alpha&state=stopped`);
    await expect.poll(() => page.locator('tr[data-emulator]').count()).toBe(4);
    await page.getByRole('button', { name: 'Select all 4 matching' }).click();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.textContent()).toContain('4 instances on 1 workstation');
    await shot(page, '03-confirm');
    await dialog.getByRole('button', { name: 'Start 4 instances' }).click();
    const drawer = page.getByTestId('batch-progress');
    await expect.poll(() => drawer.getByTestId('batch-percent').textContent(), { timeout: 30_000 }).toContain('100% · 4 succeeded');
    await shot(page, '04-batch-progress');
    await page.keyboard.press('Escape');
    await page.goto(`${fleet.t.url}/?q=alpha`);
    for (let index = 0; index < 4; index += 1) await expect.poll(() => row(`alpha-${index}`).getAttribute('data-state'), { timeout: 20_000 }).toBe('booted');
  }, 90_000);

  it('shows a failure in the batch with its category, and "retry failed" retries it', async () => {
    const target = await emulatorNamed('bravo-1');
    const home = fleet.workstations[1]!.home;
    home.setFaults([{ command: 'launch', index: target.index, exitCode: 1, output: 'launch refused by the test' }]);
    try {
      await page.goto(`${fleet.t.url}/?q=bravo-1`);
      await page.getByRole('checkbox', { name: 'Select bravo-1' }).click();
      await page.getByRole('button', { name: 'Start', exact: true }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Start 1 instance' }).click();
      const drawer = page.getByTestId('batch-progress');
      await expect.poll(() => drawer.getByTestId('batch-percent').textContent(), { timeout: 30_000 }).toContain('1 failed');
      const failures = drawer.getByRole('table', { name: 'Failures' });
      await expect.poll(() => failures.textContent()).toContain('bravo-1');
      await shot(page, '05-batch-failure');
    } finally {
      home.clearFaults();
    }
    const drawer = page.getByTestId('batch-progress');
    await drawer.getByRole('button', { name: 'Retry failed' }).click();
    await expect.poll(() => drawer.getByTestId('batch-percent').textContent(), { timeout: 30_000 }).toContain('1 succeeded · 0 failed');
    await page.keyboard.press('Escape');
  }, 90_000);

  it('shows a screenshot on the detail page and PNG tiles on the screen wall', async () => {
    const target = await emulatorNamed('alpha-0');
    await page.goto(`${fleet.t.url}/emulators/${target.id}`);
    const image = page.getByTestId('screenshot');
    await expect.poll(() => image.evaluate((element) => (element as unknown as { naturalWidth: number }).naturalWidth), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await image.getAttribute('src')).toMatch(/^blob:/);
    await shot(page, '06-emulator-detail');
    await page.getByRole('link', { name: 'Screen wall' }).click();
    await expect.poll(() => page.locator('.tile img').count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(5);
    const widths = await page.locator('.tile img').evaluateAll((images) => images.map((image) => (image as unknown as { naturalWidth: number }).naturalWidth));
    expect(widths.every((width) => width > 0)).toBe(true);
    await shot(page, '07-screen-wall');
  }, 60_000);

  it('installs an uploaded APK on a running instance', async () => {
    await page.goto(`${fleet.t.url}/?q=alpha-2`);
    await page.getByRole('checkbox', { name: 'Select alpha-2' }).click();
    await page.getByRole('button', { name: 'More actions' }).click();
    await page.getByRole('menuitem', { name: 'Install APK' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('input[type=file]').setInputFiles({ name: 'demo.apk', mimeType: 'application/vnd.android.package-archive', buffer: buildTestApk('com.example.webtest') });
    await dialog.getByRole('button', { name: 'Install APK 1 instance' }).click();
    await dialog.waitFor({ state: 'detached' });
    const target = await emulatorNamed('alpha-2');
    const installed = await eventually(async () => {
      const page = await fleet.t.admin.listOperations({ emulator: target.id, action: 'installApp' });
      return page.items.find((operation) => operation.status === 'succeeded');
    }, 30_000, 'the APK installed');
    expect(installed.status).toBe('succeeded');
  }, 60_000);

  it('turns an instance started behind ldfleet\'s back running on screen without a reload', async () => {
    await page.goto(`${fleet.t.url}/?q=bravo-3`);
    await expect.poll(() => row('bravo-3').getAttribute('data-state')).toBe('stopped');
    const marker = await page.evaluate('window.marker = Math.random()');
    const target = await emulatorNamed('bravo-3');
    execFileSync(SIM_BIN, ['launch', '--index', String(target.index)], { env: fleet.workstations[1]!.home.env() });
    await expect.poll(() => row('bravo-3').getAttribute('data-state'), { timeout: 20_000 }).not.toBe('stopped');
    expect(await page.evaluate('window.marker')).toBe(marker);
  }, 60_000);

  it('shows "reconnecting" while the stream is down and catches up when it is back', async () => {
    await page.goto(`${fleet.t.url}/?q=bravo-2`);
    await expect.poll(() => row('bravo-2').getAttribute('data-state')).toBe('stopped');
    streamBlocked = true;
    for (const ws of streams) await ws.close({ code: 1011, reason: 'test: stream down' });
    await page.getByText('Reconnecting…').waitFor();
    await shot(page, '08-reconnecting');
    // A change while the page hears nothing: it must show once the stream is back.
    const target = await emulatorNamed('bravo-2');
    const started = await fleet.waitOperation((await fleet.t.admin.emulatorAction(target.id, 'start')).id);
    expect(started.status).toBe('succeeded');
    streamBlocked = false;
    await page.getByText('Reconnecting…').waitFor({ state: 'detached', timeout: 30_000 });
    await expect.poll(() => row('bravo-2').getAttribute('data-state'), { timeout: 20_000 }).toBe('booted');
  }, 90_000);

  it('adds a workstation and shows its token once, with the PowerShell that installs the agent', async () => {
    await page.goto(`${fleet.t.url}/workstations`);
    await expect.poll(() => page.getByTestId('workstation-card').count()).toBe(2);
    await shot(page, '09-workstations');
    await page.getByRole('button', { name: 'Add workstation' }).click();
    await page.getByLabel('Name').fill('pc-new');
    await page.getByRole('button', { name: 'Register' }).click();
    const token = (await page.getByTestId('enrollment-token').textContent()) ?? '';
    expect(token).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(await page.getByTestId('install-script').textContent()).toContain(token);
    await shot(page, '10-enrollment-token');
    await page.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.getByTestId('workstation-card').count()).toBe(3);
    expect(await page.getByText(token).count()).toBe(0);
    expect(await fleet.t.server.workstations.verifyEnrollmentToken(token)).toBeTruthy();
  }, 60_000);

  it('lists operations and batches, and the admin pages', async () => {
    await page.goto(`${fleet.t.url}/operations`);
    await page.getByRole('tab', { name: 'Operations' }).click();
    await expect.poll(() => page.getByRole('table', { name: 'Operations' }).locator('tbody tr').count()).toBeGreaterThan(3);
    await shot(page, '11-operations');
    await page.goto(`${fleet.t.url}/admin`);
    await expect.poll(() => page.getByRole('table', { name: 'Users' }).textContent()).toContain('admin');
    await shot(page, '12-admin-users');
    await page.getByRole('tab', { name: 'Audit log' }).click();
    await expect.poll(() => page.getByRole('table', { name: 'Audit log' }).locator('tbody tr').count()).toBeGreaterThan(3);
    await shot(page, '13-audit');
  }, 60_000);

  it('shows a viewer no action the API would refuse', async () => {
    const viewer = await fleet.t.userWithRole('viewer', 'watcher');
    const other = await browser.context.newPage();
    try {
      await signIn(other, 'watcher', viewer.password);
      await other.getByRole('table', { name: 'Emulators' }).waitFor();
      await expect.poll(() => other.locator('tr[data-emulator]').count()).toBe(8);
      expect(await other.getByRole('button', { name: 'Start', exact: true }).count()).toBe(0);
      expect(await other.getByRole('checkbox').count()).toBe(0);
      expect(await other.getByRole('link', { name: 'Admin' }).count()).toBe(0);
      await shot(other, '14-viewer-fleet');
      await other.goto(`${fleet.t.url}/workstations`);
      await expect.poll(() => other.getByTestId('workstation-card').count()).toBe(3);
      expect(await other.getByRole('button', { name: 'Add workstation' }).count()).toBe(0);
      expect(await other.getByRole('button', { name: 'Rotate token' }).count()).toBe(0);
      const target = await emulatorNamed('alpha-1');
      await other.goto(`${fleet.t.url}/emulators/${target.id}`);
      await other.getByRole('heading', { name: 'alpha-1' }).waitFor();
      expect(await other.getByRole('button', { name: 'Stop', exact: true }).count()).toBe(0);
      expect(await other.getByRole('button', { name: 'Run' }).count()).toBe(0);
    } finally {
      await other.close();
    }
  }, 60_000);

  it('stays usable on a phone-sized screen and signs out', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${fleet.t.url}/`);
    await expect.poll(() => page.locator('tr[data-emulator]').count()).toBe(8);
    await shot(page, '15-phone-fleet');
    await page.getByRole('button', { name: 'Toggle navigation' }).click();
    await page.getByRole('link', { name: 'Workstations' }).click();
    await page.getByTestId('workstation-card').first().waitFor();
    await shot(page, '16-phone-workstations');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  }, 60_000);
});
