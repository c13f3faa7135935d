/**
 * How a Windows PC gets its agent: where the server hands out the bundle and its hash, and the
 * PowerShell block that installs it. Pure (no Node.js imports), so the CLI, the server and the
 * dashboard render the same block.
 */

/** The agent bundle: one self-contained file, run with `node ldfleet-agent.mjs agent --server URL`. */
export const AGENT_BUNDLE_NAME = 'ldfleet-agent.mjs';
export const AGENT_DOWNLOAD_PATH = `/downloads/${AGENT_BUNDLE_NAME}`;
/** Its SHA-256 in `sha256sum` format: `<64 hex>  ldfleet-agent.mjs`. */
export const AGENT_SHA256_PATH = `${AGENT_DOWNLOAD_PATH}.sha256`;
/** The response header of the download that carries the same hex digest. */
export const AGENT_SHA256_HEADER = 'x-checksum-sha256';
/** The scheduled task the script registers (and replaces when it runs again). */
export const AGENT_TASK_NAME = 'ldfleet agent';

export interface AgentInstallScriptOptions {
  /** The server as the PC reaches it, e.g. `http://fleet.example:8080` (a path prefix is kept). */
  readonly serverUrl: string;
  /** The workstation's enrollment token, as `POST /api/v1/workstations` returned it. */
  readonly token: string;
  /**
   * The bundle's SHA-256 (64 hex digits) as known to whoever renders the script. When given the
   * script pins it; otherwise it fetches `AGENT_SHA256_PATH` from the same server, which catches
   * a broken download but not a server that lies.
   */
  readonly sha256?: string;
}

/** Characters a URL may keep here: nothing that ends or interpolates a PowerShell string. */
const SAFE_URL = /^https?:\/\/[A-Za-z0-9.\-[\]:]+(?:\/[A-Za-z0-9._~%/-]*)?$/;
const SAFE_TOKEN = /^[A-Za-z0-9_-]{16,256}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/i;

/** Thrown for an input the script cannot carry safely. */
export class InstallScriptError extends Error {
  override readonly name = 'InstallScriptError';
}

/** The server URL without a trailing slash; throws for anything but a plain http(s) URL. */
export function normalizeServerUrl(serverUrl: string): string {
  let url: URL;
  try {
    url = new URL(serverUrl);
  } catch (_invalid) {
    throw new InstallScriptError(`server URL ${JSON.stringify(serverUrl)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InstallScriptError(`server URL must be http or https, not ${url.protocol}`);
  if (url.username || url.password) throw new InstallScriptError('server URL must not carry credentials');
  if (url.search || url.hash) throw new InstallScriptError('server URL must not carry a query or fragment');
  const base = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  if (!SAFE_URL.test(base)) throw new InstallScriptError(`server URL ${JSON.stringify(serverUrl)} has characters the script cannot carry`);
  return base;
}

/**
 * The PowerShell block that, run by the user who runs LDPlayer, downloads the agent from the
 * server, checks its SHA-256, stores the token in that user's environment (out of process lists
 * and the task definition) and registers a task that starts the agent at logon and restarts it.
 * Running it again upgrades the agent and replaces the task.
 */
export function renderAgentInstallScript(options: AgentInstallScriptOptions): string {
  const server = normalizeServerUrl(options.serverUrl);
  if (!SAFE_TOKEN.test(options.token)) throw new InstallScriptError('the token must be the enrollment token as issued (letters, digits, _ and -)');
  if (options.sha256 !== undefined && !SHA256_HEX.test(options.sha256)) throw new InstallScriptError('sha256 must be 64 hex digits');
  const expected =
    options.sha256 !== undefined
      ? `$expected = '${options.sha256.toUpperCase()}'`
      : `$expected = ((Invoke-WebRequest -UseBasicParsing -Uri "$server${AGENT_SHA256_PATH}").Content -split '\\s+')[0]`;
  return [
    '# ldfleet agent: download, verify, store the token, start at logon. Run as the user who runs LDPlayer.',
    "$ErrorActionPreference = 'Stop'",
    "$ProgressPreference = 'SilentlyContinue'",
    `$server = '${server}'`,
    "$dir = Join-Path $env:LOCALAPPDATA 'ldfleet'",
    `$agent = Join-Path $dir '${AGENT_BUNDLE_NAME}'`,
    '$node = (Get-Command node).Source',
    'New-Item -ItemType Directory -Force -Path $dir | Out-Null',
    `Invoke-WebRequest -UseBasicParsing -Uri "$server${AGENT_DOWNLOAD_PATH}" -OutFile "$agent.new"`,
    expected,
    '$actual = (Get-FileHash -Algorithm SHA256 -LiteralPath "$agent.new").Hash',
    'if ($actual -ne $expected) { Remove-Item -LiteralPath "$agent.new"; throw "the downloaded agent has SHA-256 $actual, expected $expected" }',
    `Stop-ScheduledTask -TaskName '${AGENT_TASK_NAME}' -ErrorAction SilentlyContinue`,
    'Move-Item -Force -LiteralPath "$agent.new" -Destination $agent',
    `[Environment]::SetEnvironmentVariable('LDFLEET_AGENT_TOKEN', '${options.token}', 'User')`,
    '$action = New-ScheduledTaskAction -Execute $node -Argument "`"$agent`" agent --server $server" -WorkingDirectory $dir',
    '$trigger = New-ScheduledTaskTrigger -AtLogOn -User $env:USERNAME',
    '$settings = New-ScheduledTaskSettingsSet -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -ExecutionTimeLimit ([TimeSpan]::Zero)',
    '$principal = New-ScheduledTaskPrincipal -UserId $env:USERNAME -LogonType Interactive',
    `Register-ScheduledTask -Force -TaskName '${AGENT_TASK_NAME}' -Action $action -Trigger $trigger -Settings $settings -Principal $principal | Out-Null`,
    `Start-ScheduledTask -TaskName '${AGENT_TASK_NAME}'`,
    '',
  ].join('\n');
}
