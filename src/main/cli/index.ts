/**
 * The `daft` command: the same services and engine code as the app, no Electron.
 * Each command prints human-readable text, or one JSON object with --json. `daft <command> --help` (or -h) prints
 * the command's usage and options and exits 0; an error is one line on stderr (`{"error": ...}` on stdout with
 * --json) and exit status 1 (2 for an unknown command).
 */
import { COMMANDS, commandHelp, usage } from './commands'
import { oneLine, UsageError, wantsHelp } from './args'

const json = process.argv.includes('--json')

/** One line on stderr (`prefix: message`), or `{"error": message}` on stdout with --json. */
function fail(prefix: string, message: string, code: number): number {
  if (json) console.log(JSON.stringify({ error: message }))
  else console.error(`${prefix}: ${message}`)
  return code
}

/**
 * `--redis URL` and `--shared DIR` work with every store command: they set $DAFT_REDIS / $DAFT_SHARED, which startApp
 * reads (runs go to the queue on Redis for `daft worker`s, app.ts). Returns the other arguments.
 */
function queueOptions(args: string[]): string[] {
  const rest: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '--') {
      rest.push(...args.slice(i))
      break
    }
    const m = /^--(redis|shared)(?:=(.*))?$/.exec(a)
    if (!m) {
      rest.push(a)
      continue
    }
    const value = m[2] ?? args[++i]
    if (value === undefined) throw new UsageError(`--${m[1]} needs a value`, `COMMAND ${m[1] === 'redis' ? '--redis redis://HOST:PORT' : '--shared DIR'}`)
    process.env[m[1] === 'redis' ? 'DAFT_REDIS' : 'DAFT_SHARED'] = value
  }
  return rest
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || (name === 'help' && !rest[0])) {
    console.log(usage())
    return 0
  }
  const which = name === 'help' ? rest[0] : name
  const cmd = Object.prototype.hasOwnProperty.call(COMMANDS, which) ? COMMANDS[which] : undefined
  if (!cmd) return fail('daft', `unknown command '${which}' (daft --help lists the commands)`, 2)
  if (name === 'help' || wantsHelp(rest)) {
    console.log(commandHelp(cmd))
    return 0
  }
  try {
    return await cmd.run(which === 'worker' ? rest : queueOptions(rest))
  } catch (e) {
    const message = oneLine((e as Error)?.message ?? String(e))
    if (e instanceof UsageError) return fail(`daft ${which}`, `${message}; usage: daft ${e.usage} (more: daft ${which} --help)`, 1)
    return fail(`daft ${which}`, message, 1)
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => process.exit(fail('daft', oneLine((e as Error)?.message ?? String(e)), 1)),
)
