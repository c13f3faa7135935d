/**
 * Pure parsers for ldconsole's text output (already decoded). They accept every variant seen in
 * the wild: CRLF or LF, blank lines, trailing newlines, 7- or 10-column list2.
 */

export type InstanceState = 'stopped' | 'running' | 'starting';

export interface Resolution {
  readonly width: number;
  readonly height: number;
  readonly dpi: number;
}

/** One list2 row. */
export interface List2Row {
  readonly index: number;
  readonly title: string;
  /** Decimal window handles; 0 when stopped. */
  readonly topHwnd: number;
  readonly bindHwnd: number;
  readonly state: InstanceState;
  /** dnplayer.exe pid, -1 when not running. */
  readonly playerPid: number;
  /** VirtualBox headless pid, -1 when not running. */
  readonly vboxPid: number;
  /** Both processes exist: the only reliable "window and VM are up" signal (state can lie). */
  readonly processesUp: boolean;
  /** Width, height and dpi from the config; only printed by 10-column builds. */
  readonly resolution: Resolution | undefined;
}

export type List2Columns = 7 | 10;

export class OutputParseError extends Error {
  override readonly name = 'OutputParseError';
  constructor(
    message: string,
    readonly line: string,
  ) {
    super(message);
  }
}

/** Some LD4 builds print an extra row with this index; it is not an instance. */
const PHANTOM_INDEX = 99999;

const STATE_BY_CODE: Readonly<Record<string, InstanceState>> = { '0': 'stopped', '1': 'running', '2': 'starting' };

const INTEGER = /^-?\d+$/;

/** Splits output into its non-blank lines, whatever the line ending. */
export function outputLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/).filter((line) => line.trim() !== '');
}

/**
 * Parses `list2`. Titles are not escaped, so a title may contain commas: the index is read
 * from the front and the fixed numeric columns from the back; whatever lies between is the
 * title. Without `columns`, the layout is detected per output (10 when every row fits it).
 */
export function parseList2(text: string, columns?: List2Columns): List2Row[] {
  const lines = outputLines(text).filter((line) => !isPhantomRow(line));
  const layout = columns ?? detectList2Columns(lines);
  return lines.map((line) => {
    const row = parseList2Line(line, layout);
    if (!row) throw new OutputParseError(`not a ${layout}-column list2 row: ${JSON.stringify(line)}`, line);
    return row;
  });
}

/** 10 when every line parses as a 10-column row, else 7 (older builds). */
export function detectList2Columns(lines: readonly string[]): List2Columns {
  return lines.every((line) => parseList2Line(line, 10) !== undefined) ? 10 : 7;
}

function isPhantomRow(line: string): boolean {
  return line.trim().split(',', 1)[0] === String(PHANTOM_INDEX);
}

/** One row in a given layout, or undefined when the line does not fit it. */
export function parseList2Line(line: string, columns: List2Columns): List2Row | undefined {
  const fields = line.split(',');
  const numericTail = columns - 2;
  if (fields.length < columns) return undefined;
  const head = fields[0]?.trim() ?? '';
  const tail = fields.slice(fields.length - numericTail).map((field) => field.trim());
  if (!INTEGER.test(head) || !tail.every((field) => INTEGER.test(field))) return undefined;
  const [topHwnd, bindHwnd, stateCode, playerPid, vboxPid, width, height, dpi] = tail.map(Number);
  const state = STATE_BY_CODE[String(stateCode)];
  if (state === undefined || topHwnd === undefined || bindHwnd === undefined || playerPid === undefined || vboxPid === undefined) {
    return undefined;
  }
  return {
    index: Number(head),
    title: fields.slice(1, fields.length - numericTail).join(','),
    topHwnd,
    bindHwnd,
    state,
    playerPid,
    vboxPid,
    processesUp: playerPid > 0 && vboxPid > 0,
    resolution: width !== undefined && height !== undefined && dpi !== undefined ? { width, height, dpi } : undefined,
  };
}

/** Formats rows the way ldconsole prints them (CRLF after each row); the inverse of parseList2. */
export function formatList2(rows: readonly List2Row[], columns: List2Columns, lineEnding = '\r\n'): string {
  const codeOf: Record<InstanceState, number> = { stopped: 0, running: 1, starting: 2 };
  return rows
    .map((row) => {
      const fields: (string | number)[] = [row.index, row.title, row.topHwnd, row.bindHwnd, codeOf[row.state], row.playerPid, row.vboxPid];
      if (columns === 10) {
        const resolution = row.resolution ?? { width: 0, height: 0, dpi: 0 };
        fields.push(resolution.width, resolution.height, resolution.dpi);
      }
      return fields.join(',') + lineEnding;
    })
    .join('');
}

/** `list` and `runninglist`: one title per line. Titles keep inner spaces; only the line ending is cut. */
export function parseTitles(text: string): string[] {
  return outputLines(text);
}

// Stopped variants are checked first: "未运行" (not running) contains "运行" (running).
const STOPPED_WORDS = ['stop', 'stopped', '停止', '已停止', '未运行', '没有运行', '未启动', 'not running'];
const RUNNING_WORDS = ['running', 'run', '运行', '运行中', '正在运行', '已启动'];

/** `isrunning`: `running` or `stop`, tolerating case, whitespace and Chinese builds. */
export function parseIsRunning(text: string): boolean {
  const answer = text.trim().toLowerCase();
  if (STOPPED_WORDS.includes(answer)) return false;
  if (RUNNING_WORDS.includes(answer)) return true;
  throw new OutputParseError(`unexpected isrunning output: ${JSON.stringify(text)}`, text);
}

/**
 * Texts ldconsole (or the sim) prints instead of a property on a stopped instance. The real
 * wording is unknown, so the driver also checks the instance state; these only catch it early.
 */
const NOT_RUNNING_PATTERNS = [/not running/i, /not run\b/i, /not started/i, /未运行/, /没有运行/, /未启动/];

export function isNotRunningMessage(text: string): boolean {
  return NOT_RUNNING_PATTERNS.some((pattern) => pattern.test(text));
}

/** `getprop --key`: the value is the whole output minus the line ending. */
export function parseGetprop(text: string): string {
  return text.replace(/(\r\n|\r|\n)+$/, '');
}

export const HELP_BANNER = 'dnplayer Command Line Management Interface';
/** A usage line names the selector placeholders of the official help. */
const USAGE_LINE = /<--name mnq_name\s*\|\s*--index mnq_idx>|\bmnq_idx\b|\bmnq_name\b/;

/** The help text ldconsole prints for no arguments, an unknown command or a bad copy source. */
export function isHelpText(text: string): boolean {
  const first = outputLines(text)[0]?.trim() ?? '';
  return first.startsWith(HELP_BANNER) || USAGE_LINE.test(text);
}

export const PLAYER_NOT_FOUND = "player don't exist!";
export const PARAMETER_ERROR = 'parameter error!';

/** adb errors ldconsole passes through when the device is absent or unusable. */
const ADB_DEVICE_GONE = /^error: (device (['"].*['"] )?not found|no devices\/emulators found|device unauthorized)/im;
const ADB_DEVICE_OFFLINE = /^error: device offline/im;
/**
 * What adb prints when another adb server of a different version took port 5037 (LDPlayer's
 * bundled adb and an SDK one fighting): the version mismatch, or the protocol breaking mid-call.
 */
const ADB_CONFLICT = /adb server version \(\d+\) doesn't match this client|protocol fault \(couldn't read status\)|^error: .*unknown data/im;

export function isAdbDeviceOffline(text: string): boolean {
  return ADB_DEVICE_OFFLINE.test(text);
}

export function isAdbConflict(text: string): boolean {
  return ADB_CONFLICT.test(text);
}

export function isAdbDeviceMissing(text: string): boolean {
  return ADB_DEVICE_GONE.test(text);
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= PNG_SIGNATURE.length && PNG_SIGNATURE.every((byte, i) => bytes[i] === byte);
}

/** Extracts a JSON document (object or array) from output that may carry a line ending. */
export function parseJsonOutput(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') throw new OutputParseError('empty output where JSON was expected', text);
  try {
    return JSON.parse(trimmed) as unknown;
  } catch (error) {
    throw new OutputParseError(`output is not JSON: ${(error as Error).message}`, text);
  }
}
