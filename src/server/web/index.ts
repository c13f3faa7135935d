/**
 * The web dashboard's files, served at `/`: the hashed assets Vite builds into `dist/web` with a
 * year-long immutable cache, and `index.html` for every client route (SPA fallback) with a
 * Content-Security-Policy made for the dashboard alone. When the dashboard was not built the
 * server still runs; `/` then explains how to build it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, notFound } from '../http/index.js';
import type { App } from '../http/index.js';

/** `dist/web` of the package, whether this file runs from src/ (tests) or dist/ (installed). */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

/** Paths the server answers itself: never rewritten to the dashboard's index.html. */
const SERVER_PATHS = /^\/(api|docs|downloads|metrics|healthz|readyz|openapi\.json|assets)(\/|$)/;
const NONCE_PLACEHOLDER = /__CSP_NONCE__/g;
const HOST_PATTERN = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

export interface DashboardOptions {
  /** The built dashboard (default `dist/web`). */
  dir?: string;
}

/** Registers the dashboard's routes on the root of `app`; logs a warning when it was not built. */
export async function registerDashboard(app: App, options: DashboardOptions = {}): Promise<void> {
  const dir = options.dir ?? DEFAULT_WEB_DIR;
  const indexFile = join(dir, 'index.html');
  if (!existsSync(indexFile)) {
    app.log.warn({ dir }, 'the web dashboard is not built (run `npm run build`); / explains this');
    app.get('/', async () => {
      throw new HttpError(503, 'dashboard_not_built', `the web dashboard is not built: run \`npm run build\` (looked in ${dir})`);
    });
    return;
  }
  const template = readFileSync(indexFile, 'utf8');

  // Vite names every asset by its content hash, so a year of caching is safe. Only the files
  // present at start-up get routes (wildcard off): a missing asset is a 404, not index.html.
  await app.register(fastifyStatic, {
    root: join(dir, 'assets'),
    prefix: '/assets/',
    wildcard: false,
    index: false,
    serveDotFiles: false,
    cacheControl: false,
    setHeaders(response) {
      response.setHeader('cache-control', 'public, max-age=31536000, immutable');
    },
  });

  const sendIndex = async (request: FastifyRequest, reply: FastifyReply) => {
    const nonce = randomBytes(16).toString('base64');
    return reply
      .header('content-security-policy', dashboardCsp(request.headers.host, nonce))
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .send(template.replace(NONCE_PLACEHOLDER, nonce));
  };
  app.get('/', sendIndex);
  app.get('/index.html', sendIndex);
  app.get('/*', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    // A path with a dot names a file; one that is not there is a 404 rather than the page.
    if (SERVER_PATHS.test(path) || path.includes('.')) throw notFound(`route GET ${path}`);
    return sendIndex(request, reply);
  });
}

/**
 * What the dashboard needs and nothing more: its own scripts and styles (Mantine's generated
 * `<style>` elements carry the per-response nonce), the API and event stream of this origin,
 * and screenshots shown from blob: URLs.
 */
export function dashboardCsp(host: string | undefined, nonce: string): string {
  const sameOriginSockets = host !== undefined && HOST_PATTERN.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' blob: data:",
    "font-src 'self'",
    `connect-src 'self'${sameOriginSockets}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}
