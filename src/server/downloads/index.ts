/**
 * `GET /downloads/ldfleet-agent.mjs` and its `.sha256`: the server hands each farm PC its agent,
 * so a PC on a LAN with no internet installs from the server alone (README "Adding a
 * workstation"). Public: the bundle holds no secret (it is the published package's own code)
 * and a PC fetches it before anyone logs in on it; the enrollment token is what admits it.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { AGENT_BUNDLE_NAME, AGENT_DOWNLOAD_PATH, AGENT_SHA256_HEADER, AGENT_SHA256_PATH } from '../../install/index.js';
import { HttpError, type App } from '../http/index.js';

export interface DownloadsOptions {
  /** The bundle `npm run build` writes (`AGENT_BUNDLE_FILE`); tests point elsewhere. */
  readonly agentBundleFile: string;
}

interface Bundle {
  readonly mtimeMs: number;
  readonly size: number;
  readonly bytes: Buffer;
  readonly sha256: string;
}

/** Registers the download routes outside /api/v1. */
export function registerDownloads(app: App, options: DownloadsOptions): void {
  const current = bundleReader(options.agentBundleFile);
  const hide = { hide: true };
  app.get(AGENT_DOWNLOAD_PATH, { config: { auth: 'public' }, schema: hide }, async (_request, reply) => {
    const bundle = await current();
    return reply
      .type('text/javascript; charset=utf-8')
      .header('content-disposition', `attachment; filename="${AGENT_BUNDLE_NAME}"`)
      .header(AGENT_SHA256_HEADER, bundle.sha256)
      // RFC 9530: the digest of the whole representation, base64 between colons.
      .header('repr-digest', `sha-256=:${Buffer.from(bundle.sha256, 'hex').toString('base64')}:`)
      .header('etag', `"${bundle.sha256}"`)
      .header('cache-control', 'no-cache')
      .send(bundle.bytes);
  });
  app.get(AGENT_SHA256_PATH, { config: { auth: 'public' }, schema: hide }, async (_request, reply) => {
    const bundle = await current();
    return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(`${bundle.sha256}  ${AGENT_BUNDLE_NAME}\n`);
  });
}

/** Reads the bundle once per change of the file (a rebuild while the server runs is served). */
function bundleReader(file: string): () => Promise<Bundle> {
  let cached: Bundle | undefined;
  return async () => {
    let info;
    try {
      info = await stat(file);
    } catch (_missing) {
      throw new HttpError(404, 'not_found', `this server has no agent bundle (${file}); build it with npm run build`);
    }
    if (cached?.mtimeMs === info.mtimeMs && cached.size === info.size) return cached;
    const bytes = await readFile(file);
    cached = { mtimeMs: info.mtimeMs, size: bytes.length, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
    return cached;
  };
}
