import { describe, expect, it } from 'vitest';
import { AGENT_DOWNLOAD_PATH, AGENT_SHA256_PATH, InstallScriptError, normalizeServerUrl, renderAgentInstallScript } from '../../src/install/index.js';

const TOKEN = 'ldf_ws_AbC-123_xyzXYZ0123456789';
const SHA = 'a'.repeat(64);

describe('renderAgentInstallScript', () => {
  it('downloads from the server, checks the pinned hash, stores the token for the user and registers the logon task', () => {
    const script = renderAgentInstallScript({ serverUrl: 'http://fleet.example:8080/', token: TOKEN, sha256: SHA });
    expect(script).toContain("$server = 'http://fleet.example:8080'");
    expect(script).toContain(`Invoke-WebRequest -UseBasicParsing -Uri "$server${AGENT_DOWNLOAD_PATH}" -OutFile "$agent.new"`);
    expect(script).toContain(`$expected = '${SHA.toUpperCase()}'`);
    expect(script).toContain('Get-FileHash -Algorithm SHA256');
    expect(script).toMatch(/if \(\$actual -ne \$expected\) \{ Remove-Item .*throw/);
    expect(script).toContain(`[Environment]::SetEnvironmentVariable('LDFLEET_AGENT_TOKEN', '${TOKEN}', 'User')`);
    expect(script).toContain('agent --server $server');
    expect(script).toContain('New-ScheduledTaskTrigger -AtLogOn -User $env:USERNAME');
    expect(script).toContain('-LogonType Interactive');
    expect(script).toContain("Register-ScheduledTask -Force -TaskName 'ldfleet agent'");
    // The token is set once, in the user's environment, never on the agent's command line.
    expect(script.split(TOKEN)).toHaveLength(2);
    // The hash check comes before the file replaces the installed agent.
    expect(script.indexOf('$actual -ne $expected')).toBeLessThan(script.indexOf('Move-Item'));
  });

  it('fetches the published hash when none is pinned, and keeps a path prefix', () => {
    const script = renderAgentInstallScript({ serverUrl: 'https://fleet.example/ldfleet//', token: TOKEN });
    expect(script).toContain("$server = 'https://fleet.example/ldfleet'");
    expect(script).toContain(`"$server${AGENT_SHA256_PATH}"`);
  });

  it.each([
    ['ftp://fleet.example', /http or https/],
    ['not a url', /not a URL/],
    ['http://user:pw@fleet.example', /credentials/],
    ['http://fleet.example/?a=1', /query/],
    ["http://fleet.example/a'b", /cannot carry/],
    ['http://fleet.example/$(calc)', /cannot carry/],
  ])('refuses the server URL %s', (serverUrl, message) => {
    expect(() => renderAgentInstallScript({ serverUrl, token: TOKEN })).toThrow(message);
  });

  it.each(["ldf_ws_abc'; calc; '0123456789", 'short', 'ldf_ws_with space 0123456789', 'ldf_ws_\u2019quote0123456789'])(
    'refuses the token %j',
    (token) => {
      expect(() => renderAgentInstallScript({ serverUrl: 'http://fleet.example', token })).toThrow(InstallScriptError);
    },
  );

  it('refuses a hash that is not 64 hex digits', () => {
    expect(() => renderAgentInstallScript({ serverUrl: 'http://fleet.example', token: TOKEN, sha256: 'abc' })).toThrow(/64 hex/);
  });

  it('normalizes IPv6 hosts and ports', () => {
    expect(normalizeServerUrl('http://[::1]:8080')).toBe('http://[::1]:8080');
  });
});
