/**
 * Live progress of a batch on a terminal: one bar overall and, with `--verbose`, one per
 * workstation (cli-progress). Failures are printed above the bars as they come. Without a
 * terminal (or with NO_COLOR) nothing moves: failures are plain lines and a summary ends it.
 */
import { MultiBar, type SingleBar } from 'cli-progress';
import type { BatchCounts } from '../sdk/index.js';
import type { Output } from './output.js';

export interface ProgressView {
  /** Overall counts of the batch or group. */
  counts(counts: BatchCounts, total: number): void;
  /** Counts of one workstation (only shown with --verbose). */
  workstation(name: string, done: number, total: number, failed: number): void;
  /** A line printed above the bars (or plainly without them). */
  log(line: string): void;
  stop(): void;
}

const done = (counts: BatchCounts) => counts.succeeded + counts.failed + counts.cancelled;

export function createProgress(output: Output, title: string, total: number): ProgressView {
  if (!output.fancy) {
    return {
      counts: () => undefined,
      workstation: () => undefined,
      // With --json, stdout holds only the final document: failures as they come go to stderr.
      log: (line) => (output.json ? output.err(line) : output.out(line)),
      stop: () => undefined,
    };
  }
  const c = output.colors;
  const bars = new MultiBar({
    stream: process.stdout,
    format: (options, params, payload: { label: string; detail: string }) => {
      const size = options.barsize ?? 30;
      const filled = Math.round(params.progress * size);
      // Uncoloured: cli-progress cuts lines at the terminal's width counting colour codes as characters.
      const bar = '█'.repeat(filled) + '░'.repeat(size - filled);
      return `${payload.label} ${bar} ${String(params.value).padStart(String(params.total).length)}/${params.total} ${payload.detail}`;
    },
    // Room for the label, the counts and the detail on one line of the terminal.
    barsize: Math.max(10, Math.min(30, (output.width ?? 80) - Math.max(title.length, 12) - 60)),
    hideCursor: true,
    clearOnComplete: false,
    stopOnComplete: false,
    fps: 10,
  });
  const labelWidth = Math.max(title.length, 12);
  const overall = bars.create(total, 0, { label: title.padEnd(labelWidth), detail: '' });
  const perWorkstation = new Map<string, SingleBar>();
  return {
    counts(counts, newTotal) {
      overall.setTotal(Math.max(newTotal, 1));
      const detail = [
        c.green(`${counts.succeeded} ok`),
        counts.failed > 0 ? c.red(`${counts.failed} failed`) : `${counts.failed} failed`,
        `${counts.running} running`,
        `${counts.queued} queued`,
        ...(counts.cancelled > 0 ? [c.yellow(`${counts.cancelled} cancelled`)] : []),
      ].join(' ');
      overall.update(done(counts), { detail });
    },
    workstation(name, value, workstationTotal, failed) {
      if (!output.verbose) return;
      let bar = perWorkstation.get(name);
      if (!bar) {
        bar = bars.create(workstationTotal, 0, { label: `  ${name}`.slice(0, labelWidth).padEnd(labelWidth), detail: '' });
        perWorkstation.set(name, bar);
      }
      bar.setTotal(workstationTotal);
      bar.update(value, { detail: failed > 0 ? c.red(`${failed} failed`) : '' });
    },
    log: (line) => bars.log(`${line}\n`),
    stop: () => bars.stop(),
  };
}
