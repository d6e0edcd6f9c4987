/** One `daft` sub-command (registered in commands.ts; its own file so command modules do not import the registry). */
export interface Command {
  summary: string
  /** one line for `daft --help` */
  usage: string
  /** what `daft <command> --help` prints after its usage line: the options, one per line, and anything else to know */
  help: string
  run(args: string[]): Promise<number>
}
