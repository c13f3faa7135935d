/**
 * How the CLI writes: one JSON document for scripts (`--json`), tables sized to the terminal for
 * people, and colours and live bars only when stdout is a terminal and NO_COLOR is not set.
 */
import Table from 'cli-table3';
import picocolors from 'picocolors';

type Colors = ReturnType<typeof picocolors.createColors>;

export interface Output {
  readonly json: boolean;
  /** stdout is a terminal: actions wait by default. */
  readonly tty: boolean;
  /** Colours, bars and spinners are allowed. */
  readonly fancy: boolean;
  readonly verbose: boolean;
  readonly colors: Colors;
  /** Terminal width, or undefined when not a terminal (no truncation). */
  readonly width: number | undefined;
  out(text: string): void;
  err(text: string): void;
  printJson(value: unknown): void;
}

export function createOutput(flags: { json?: boolean; verbose?: boolean }, env: NodeJS.ProcessEnv = process.env): Output {
  const tty = process.stdout.isTTY === true;
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const fancy = tty && !noColor && env.TERM !== 'dumb' && flags.json !== true;
  return {
    json: flags.json === true,
    tty,
    fancy,
    verbose: flags.verbose === true,
    colors: picocolors.createColors(fancy),
    width: tty ? process.stdout.columns || 80 : undefined,
    out: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    printJson: (value) => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
}

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | boolean | null | undefined;
  /** Columns that give way first when the terminal is narrow (ids, names, messages). */
  shrink?: boolean;
}

const PLAIN_CHARS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '',
  'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};

/** Borderless columns (easy to read and to grep), cut to the terminal's width with "…". */
export function renderTable<T>(output: Output, rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((column) => cellText(column.value(row))));
  const natural = columns.map((column, i) => Math.max(column.header.length, ...cells.map((row) => displayWidth(row[i] ?? ''))));
  const widths = fitWidths(natural, columns, output.width);
  const table = new Table({
    head: columns.map((column) => output.colors.bold(column.header)),
    chars: PLAIN_CHARS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    colWidths: widths,
    truncate: '…',
    wordWrap: false,
  });
  for (const row of cells) table.push(row);
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

function fitWidths<T>(natural: number[], columns: readonly Column<T>[], width: number | undefined): number[] {
  const widths = [...natural];
  if (width === undefined) return widths;
  const gaps = 2 * (columns.length - 1);
  let excess = widths.reduce((sum, w) => sum + w, 0) + gaps - width;
  // Take from the widest shrinkable column, one character at a time, down to 8.
  while (excess > 0) {
    let widest = -1;
    for (const [i, column] of columns.entries()) {
      if (column.shrink && widths[i]! > 8 && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    }
    if (widest < 0) break;
    widths[widest]! -= 1;
    excess -= 1;
  }
  return widths;
}

function cellText(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  return String(value).replace(/[\r\n\t]+/g, ' ');
}

/** East Asian wide characters take two columns. */
function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(char) ? 2 : 1;
  return width;
}

/** A list of label: value lines for one resource (`show`). */
export function renderDetails(output: Output, pairs: readonly [string, unknown][]): string {
  const labelWidth = Math.max(...pairs.map(([label]) => label.length));
  return pairs
    .map(([label, value]) => `${output.colors.bold(label.padEnd(labelWidth))}  ${detailText(value)}`)
    .join('\n');
}

function detailText(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(itemText).join(', ');
  return itemText(value);
}

/** A string, number or boolean as itself; anything else (an object, in practice) as JSON. */
function itemText(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Prints a page of a list: JSON as the server sent it, or a table and a count line. */
export function printList<T>(
  output: Output,
  page: { items: readonly T[]; total?: number; nextCursor?: string | null },
  columns: readonly Column<T>[],
  noun: string,
): void {
  if (output.json) {
    output.printJson(page);
    return;
  }
  if (page.items.length === 0) {
    output.out(`no ${noun}`);
    return;
  }
  output.out(renderTable(output, page.items, columns));
  const total = page.total ?? page.items.length;
  if (total > page.items.length || page.nextCursor) {
    output.out(output.colors.dim(`${page.items.length} of ${total} ${noun}${page.nextCursor ? `; next page: --cursor ${page.nextCursor}` : ''}`));
  }
}

/** A short age like "3s", "5m", "2h", "4d" since an ISO time. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}
