/** One `daft` sub-command (registered in commands.ts; its own file so command modules do not import the registry). */
export interface Command {
  summary: string
  usage: string
  run(args: string[]): Promise<number>
}
