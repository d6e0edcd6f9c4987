/** Registry of `daft` sub-commands. Each lives in its own module and uses the engine/services directly. */
export interface Command {
  summary: string
  usage: string
  run(args: string[]): Promise<number>
}

export const COMMANDS: Record<string, Command> = {}

export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  daft ${c.usage.padEnd(60)} ${c.summary}`)
  return ['usage: daft <command> [options]   (add --json for one JSON object)', '', ...lines].join('\n')
}
