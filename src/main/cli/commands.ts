/** Registry of `daft` sub-commands. Each lives in its own module and uses the engine/services directly. */
import { convertBnCommand, evaluateCommand, inspectCommand, shiftCommand } from './engineCommands'
import { doctorCommand } from './doctorCommand'
import { analyzeCommand, cancelCommand, exportCommand, compareCommand, resumeCommand, robustnessCommand, runCommand, runsCommand } from './storeCommands'

import type { Command } from './command'

export type { Command }

export const COMMANDS: Record<string, Command> = {
  evaluate: evaluateCommand,
  'convert-bn': convertBnCommand,
  inspect: inspectCommand,
  shift: shiftCommand,
  run: runCommand,
  runs: runsCommand,
  compare: compareCommand,
  resume: resumeCommand,
  cancel: cancelCommand,
  analyze: analyzeCommand,
  robustness: robustnessCommand,
  export: exportCommand,
  doctor: doctorCommand,
}

export function usage(): string {
  const lines = Object.values(COMMANDS).map((c) => `  daft ${c.usage.padEnd(60)} ${c.summary}`)
  return ['usage: daft <command> [options]   (add --json for one JSON object)', '', ...lines].join('\n')
}
