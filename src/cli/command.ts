/** What the resource commands share: running an action with a session, and common options. */
import type { Command } from 'commander';
import type { PageParams } from '../sdk/index.js';
import { ExitCode, usageError } from './exit-codes.js';
import type { ExitCodeValue } from './exit-codes.js';
import { openSession } from './session.js';
import type { Session } from './session.js';

/**
 * A commander action that opens a session first; the handler's exit code becomes the process's.
 * Errors go up to main, which maps them to their exit code.
 */
export function withSession<A extends unknown[]>(handler: (session: Session, ...args: A) => Promise<ExitCodeValue | void>) {
  return async (...raw: unknown[]): Promise<void> => {
    const command = raw[raw.length - 1] as Command;
    const session = await openSession(command);
    const code = await handler(session, ...(raw.slice(0, -1) as A));
    process.exitCode = code ?? ExitCode.ok;
  };
}

export interface PageFlags {
  limit?: string;
  cursor?: string;
  all?: boolean;
}

export function addPageOptions(command: Command): Command {
  return command
    .option('--limit <n>', 'items per page')
    .option('--cursor <cursor>', 'the page after this cursor (from the previous page)')
    .option('--all', 'every page');
}

export function pageOf(flags: PageFlags): PageParams {
  return { ...(flags.limit !== undefined ? { limit: positiveInt(flags.limit, '--limit') } : {}), ...(flags.cursor ? { cursor: flags.cursor } : {}) };
}

/** One page, or with `--all` every page as one list. */
export async function listPage<T>(
  session: Session,
  flags: PageFlags,
  list: (page: PageParams) => Promise<{ items: T[]; nextCursor: string | null; total: number }>,
): Promise<{ items: T[]; nextCursor: string | null; total: number }> {
  if (!flags.all) return list(pageOf(flags));
  const items = await session.client.all(list);
  return { items, nextCursor: null, total: items.length };
}

export function addWaitOptions(command: Command): Command {
  return command
    .option('--wait', 'follow it to the end (the default on a terminal)')
    .option('--no-wait', 'print the operation or batch id and return')
    .option('--cancel-on-interrupt', 'Ctrl-C while waiting cancels it (else it goes on)');
}

export function positiveInt(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw usageError(`${flag} must be a whole number ≥ 1, got "${text}"`);
  return Number(text);
}

export function nonNegativeInt(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) throw usageError(`${flag} must be a whole number, got "${text}"`);
  return Number(text);
}

/** Reads all of stdin (for --password-stdin), without its final newline. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
