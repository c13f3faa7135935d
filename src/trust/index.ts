/**
 * How a client (the agent, the CLI, the SDK's users) decides to trust the server's TLS
 * certificate: the system's CAs by default, or a given CA file (`--ca`), or one pinned
 * certificate by its SHA-256 fingerprint (`--fingerprint sha256:…`, for a self-signed server).
 * One place, so every client offers the same options with the same meaning.
 */
import { readFileSync } from 'node:fs';
import { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import type { Command } from 'commander';

/** The options as a user gives them (command-line flags or settings). */
export interface TrustFlags {
  /** A PEM file of the CA (or the self-signed certificate) that signs the server's certificate. */
  readonly ca?: string | undefined;
  /** `sha256:` then 64 hex digits, colons allowed: the server's certificate itself. */
  readonly fingerprint?: string | undefined;
}

/** What a TLS connection is checked against. */
export interface Trust {
  readonly ca?: Buffer;
  /** Upper-case hex pairs joined by colons, as Node's `fingerprint256`. */
  readonly fingerprint?: string;
}

export class TrustError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrustError';
  }
}

/** Reads the CA file and checks the fingerprint's form; throws a TrustError naming the flag. */
export function loadTrust(flags: TrustFlags): Trust {
  const trust: { ca?: Buffer; fingerprint?: string } = {};
  if (flags.ca !== undefined) {
    try {
      trust.ca = readFileSync(flags.ca);
    } catch (error) {
      throw new TrustError(`--ca: cannot read ${flags.ca}: ${(error as Error).message}`);
    }
    if (!trust.ca.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) throw new TrustError(`--ca: ${flags.ca} holds no PEM certificate`);
  }
  if (flags.fingerprint !== undefined) trust.fingerprint = parseFingerprint(flags.fingerprint);
  return trust;
}

/** `sha256:ab:cd…` or `sha256:abcd…` → `AB:CD:…`. */
export function parseFingerprint(text: string): string {
  const match = /^sha256:((?:[0-9a-fA-F]{2}:?){32})$/.exec(text.trim());
  const hex = match?.[1]?.replace(/:/g, '');
  if (hex?.length !== 64) throw new TrustError(`--fingerprint: expected sha256: and 64 hex digits (openssl x509 -noout -fingerprint -sha256), got ${JSON.stringify(text.slice(0, 120))}`);
  return hex.toUpperCase().match(/../g)?.join(':') ?? '';
}

/** True for names and addresses that never leave the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

type ConnectCallback = (error: Error | null, socket?: Socket) => void;

/**
 * A `createConnection` for `https.request` and `ws` that applies the trust. With a pinned
 * fingerprint the chain is not checked (self-signed is the point) but the certificate must be
 * that one; the socket reaches the caller only after the check, so no request byte (nor the
 * bearer token in it) is sent to a server that fails it.
 */
export function trustedConnect(trust: Trust): (options: tls.ConnectionOptions, callback: ConnectCallback) => undefined {
  return (options, callback) => {
    const host = options.host ?? 'localhost';
    const socket = tls.connect({
      ...options,
      // http.request passes the URL path here; for tls.connect a path means a local pipe.
      path: undefined,
      servername: options.servername ?? (isIP(host) ? undefined : host),
      ...(trust.ca ? { ca: trust.ca } : {}),
      rejectUnauthorized: trust.fingerprint === undefined,
    });
    const onError = (error: Error) => callback(error);
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      // An empty object when the server sent no certificate, whatever PeerCertificate's type says.
      const seen = socket.getPeerCertificate().fingerprint256 as string | undefined;
      if (trust.fingerprint !== undefined && seen !== trust.fingerprint) {
        socket.destroy();
        callback(new TrustError(`the server's certificate has fingerprint sha256:${seen ?? 'none'}, not the pinned sha256:${trust.fingerprint}`));
        return;
      }
      callback(null, socket);
    });
    return undefined;
  };
}

/** Options for a `ws` client: nothing for the system's CAs, else the trusted connect. */
export function wsTrustOptions(trust: Trust | undefined): { createConnection?: ReturnType<typeof trustedConnect> } {
  if (trust === undefined || (trust.ca === undefined && trust.fingerprint === undefined)) return {};
  return { createConnection: trustedConnect(trust) };
}

/** Adds `--ca` and `--fingerprint` to a command (the agent's, the CLI's). */
export function addTrustOptions(command: Command): Command {
  return command
    .option('--ca <file>', 'PEM CA (or self-signed certificate) the server\'s TLS certificate must chain to')
    .option('--fingerprint <sha256:hex>', 'trust exactly the server certificate with this SHA-256 fingerprint (self-signed servers)');
}
