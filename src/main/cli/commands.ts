/** Registry of `daft` sub-commands. Each lives in its own module and uses the engine/services directly. */
import { convertBnCommand, evaluateCommand, inspectCommand, shiftCommand } from './engineCommands'
import { doctorCommand } from './doctorCommand'
import { analyzeCommand, cancelCommand, exportCommand, compareCommand, resumeCommand, robustnessCommand, runCommand, runsCommand } from './storeCommands'
import { datasetsCommand, modelsCommand } from './catalogCommands'
import { reportCommand } from './reportCommand'
import { workerCommand } from './workerCommand'

import type { Command } from './command'

export type { Command }

export const COMMANDS: Record<string, Command> = {
  evaluate: evaluateCommand,
  'convert-bn': convertBnCommand,
  inspect: inspectCommand,
  shift: shiftCommand,
  datasets: datasetsCommand,
  models: modelsCommand,
  run: runCommand,
  runs: runsCommand,
  compare: compareCommand,
  report: reportCommand,
  resume: resumeCommand,
  cancel: cancelCommand,
  analyze: analyzeCommand,
  robustness: robustnessCommand,
  export: exportCommand,
  doctor: doctorCommand,
  worker: workerCommand,
}

export function usage(): string {
  const lines = Object.values(COMMANDS).map((c) => `  daft ${c.usage.padEnd(60)} ${c.summary}`)
  return ['usage: daft <command> [options]   (add --json for one JSON object; daft <command> --help for its options)', '', ...lines].join('\n')
}

/** What `daft <name> --help` prints. */
export function commandHelp(cmd: Command): string {
  return [cmd.help.trimEnd(), '', `An error is one line on stderr and exit status 1 (with --json: {"error": "..."} on stdout). See also: daft --help.`].join('\n')
}
