#!/usr/bin/env node
/**
 * Bundles the agent into one file, dist/agent/ldfleet-agent.mjs, that runs with a plain `node`:
 * a farm PC has Node.js and no C++ toolchain, so the bundle must hold every dependency and no
 * native module. The build fails when one slips in (better-sqlite3, pg, a `.node` addon).
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
const FORBIDDEN = [/node_modules\/better-sqlite3\//, /node_modules\/pg[^/]*\//, /node_modules\/bindings\//, /\.node$/];

const result = await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/agent-main.ts'],
  outfile: 'dist/agent/ldfleet-agent.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  minify: false,
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
  define: { LDFLEET_BUNDLED_VERSION: JSON.stringify(version) },
  // The CommonJS dependencies (ws, pino, iconv-lite, commander) call require() for Node's own modules.
  banner: {
    js: [
      '#!/usr/bin/env node',
      `// ldfleet agent ${version}: node ldfleet-agent.mjs agent --server URL (token in LDFLEET_AGENT_TOKEN)`,
      "import { createRequire as __ldfleetCreateRequire } from 'node:module';",
      'const require = __ldfleetCreateRequire(import.meta.url);',
    ].join('\n'),
  },
});

const inputs = Object.keys(result.metafile.inputs);
const native = inputs.filter((input) => FORBIDDEN.some((pattern) => pattern.test(input)));
if (native.length > 0) {
  console.error(`bundle-agent: the agent bundle must not contain native modules or the server's stores:\n  ${native.join('\n  ')}`);
  process.exit(1);
}
