import { existsSync } from 'node:fs';
import { readJsonIfExists, writeJsonAtomic } from './fsutil.js';
import type { SimPaths } from './home.js';
import { withHomeLock } from './lock.js';

/** One fault: which calls it matches, how often, and what it does to them. */
export interface FaultRule {
  /** Command name (case-insensitive); absent or `*` matches every command. */
  command?: string;
  /** Only calls selecting this index. */
  index?: number;
  /** Matches this many calls, then disappears; absent = forever. Only counted for rules in the file. */
  times?: number;
  /** Replaces the command's output (and, with exitCode, its whole effect). */
  output?: string;
  exitCode?: number;
  /** Sleeps forever (or hangMs) before going on; the process stays killable. */
  hang?: boolean;
  hangMs?: number;
  /** Drops this running instance to stopped, as if its VM died, before the command runs. */
  crashIndex?: number;
  /** Extra latency before the command runs. */
  delayMs?: number;
}

export interface FaultFile {
  slowMs?: number;
  rules?: FaultRule[];
}

/** What the matching rules ask of this call. */
export interface FaultPlan {
  delayMs: number;
  hangMs?: number;
  crashIndexes: number[];
  replacement?: { output: string; exitCode: number };
}

function matches(rule: FaultRule, command: string, index: number | undefined): boolean {
  if (rule.command !== undefined && rule.command !== '*' && rule.command.toLowerCase() !== command.toLowerCase()) return false;
  return rule.index === undefined || rule.index === index;
}

function parseFaults(raw: unknown): FaultFile {
  if (Array.isArray(raw)) return { rules: raw as FaultRule[] };
  return raw ?? {};
}

function fromEnv(env: NodeJS.ProcessEnv): FaultFile {
  const raw = env.LDFLEET_SIM_FAULTS;
  return raw ? parseFaults(JSON.parse(raw)) : {};
}

/** Takes the matching file rules, consuming their `times` atomically under the home lock. */
function takeFileRules(paths: SimPaths, command: string, index: number | undefined): { slowMs: number; rules: FaultRule[] } {
  const peek = parseFaults(readJsonIfExists(paths.faults));
  const matching = (peek.rules ?? []).filter((rule) => matches(rule, command, index));
  // Only a rule with a budget needs the lock; everything else is a plain read.
  if (!matching.some((rule) => rule.times !== undefined)) return { slowMs: peek.slowMs ?? 0, rules: matching };
  return withHomeLock(paths, () => {
    const faults = parseFaults(readJsonIfExists(paths.faults));
    const taken: FaultRule[] = [];
    const kept: FaultRule[] = [];
    for (const rule of faults.rules ?? []) {
      if (!matches(rule, command, index)) kept.push(rule);
      else if (rule.times === undefined) {
        taken.push(rule);
        kept.push(rule);
      } else if (rule.times > 0) {
        taken.push(rule);
        if (rule.times > 1) kept.push({ ...rule, times: rule.times - 1 });
      }
    }
    writeJsonAtomic(paths.faults, { ...faults, rules: kept });
    return { slowMs: faults.slowMs ?? 0, rules: taken };
  });
}

export function planFaults(paths: SimPaths, command: string, index: number | undefined, env = process.env): FaultPlan {
  const envFaults = fromEnv(env);
  const file = existsSync(paths.faults) ? takeFileRules(paths, command, index) : { slowMs: 0, rules: [] };
  const rules = [...(envFaults.rules ?? []).filter((rule) => matches(rule, command, index)), ...file.rules];
  const plan: FaultPlan = { delayMs: (envFaults.slowMs ?? 0) + file.slowMs, crashIndexes: [] };
  for (const rule of rules) {
    plan.delayMs += rule.delayMs ?? 0;
    if (rule.crashIndex !== undefined) plan.crashIndexes.push(rule.crashIndex);
    if (rule.hang) plan.hangMs = rule.hangMs ?? Number.POSITIVE_INFINITY;
    if (!plan.replacement && (rule.output !== undefined || rule.exitCode !== undefined)) {
      plan.replacement = { output: rule.output ?? '', exitCode: rule.exitCode ?? 0 };
    }
  }
  return plan;
}

export function writeFaults(paths: SimPaths, faults: FaultFile): void {
  writeJsonAtomic(paths.faults, faults);
}
