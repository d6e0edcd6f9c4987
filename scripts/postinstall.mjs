// Guarded Electron ABI rebuild of native modules (better-sqlite3).
//
// Node (tests, `npm run serve`, the `daft` CLI) and Electron (`npm start`) need different builds of
// better-sqlite3. We never touch node_modules/better-sqlite3/build (Node's binary): the Electron build
// is compiled into a private copy under .electron-native/ and main loads it through better-sqlite3's
// `nativeBinding` option when it runs inside Electron. The rebuild is skipped, never fatal, when:
// CI is set, DAFT_SKIP_ELECTRON_REBUILD is set, or the Electron binary/headers are not available
// (offline machines: electron downloads its binary on first launch).
import { existsSync, cpSync, rmSync, mkdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const say = (m) => console.log(`[daft postinstall] ${m}`)

function main() {
  if (process.env.CI || process.env.DAFT_SKIP_ELECTRON_REBUILD) return say('skipping Electron rebuild (CI / DAFT_SKIP_ELECTRON_REBUILD)')
  const require = createRequire(join(root, 'package.json'))
  let electronVersion
  try {
    electronVersion = require('electron/package.json').version
  } catch {
    return say('electron not installed; skipping Electron rebuild')
  }
  const electronDist = join(root, 'node_modules', 'electron', 'dist')
  if (!existsSync(electronDist)) return say('Electron binary not downloaded yet; run `npm run rebuild:electron` after the first `npm start`')
  const src = join(root, 'node_modules', 'better-sqlite3')
  const dest = join(root, '.electron-native', 'better-sqlite3')
  rmSync(dest, { recursive: true, force: true })
  mkdirSync(dirname(dest), { recursive: true })
  cpSync(src, dest, { recursive: true, filter: (p) => !p.includes(`${join('better-sqlite3', 'build')}`) })
  const env = { ...process.env }
  delete env.npm_config_nodedir // npm's nodedir=/usr would silently compile against Node's ABI
  delete env.NPM_CONFIG_NODEDIR
  const r = spawnSync(process.execPath, [require.resolve('@electron/rebuild/lib/cli.js'), '--version', electronVersion, '--module-dir', dest, '--only', 'better-sqlite3', '--force'], { stdio: 'inherit', env, cwd: root })
  if (r.status !== 0) {
    rmSync(dest, { recursive: true, force: true })
    return say('Electron rebuild failed (offline?); the desktop app will not open its store until it succeeds. Tests and serve mode are unaffected.')
  }
  say(`better-sqlite3 rebuilt for Electron ${electronVersion} in .electron-native/`)
}
try { main() } catch (e) { say(`Electron rebuild skipped: ${e?.message ?? e}`) }
