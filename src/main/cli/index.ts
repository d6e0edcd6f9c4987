/**
 * The `daft` command: the same services and engine code as the app, no Electron.
 * Each command prints human-readable text, or one JSON object with --json.
 */
import { COMMANDS, usage } from './commands'

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage())
    return 0
  }
  const cmd = COMMANDS[name]
  if (!cmd) {
    console.error(`daft: unknown command '${name}'\n\n${usage()}`)
    return 2
  }
  return cmd.run(rest)
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    const json = process.argv.includes('--json')
    const message = (e as Error)?.message ?? String(e)
    if (json) console.log(JSON.stringify({ error: message }))
    else console.error(`daft: ${message}`)
    process.exit(1)
  },
)
