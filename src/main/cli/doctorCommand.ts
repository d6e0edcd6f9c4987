/** `daft doctor`: which tensor backend loads here and, for each piece that does not, why and the command that fixes it. */
import type { Command } from './command'
import { helpText, out, parse } from './args'
import { doctorExitCode, formatDoctor } from '../../shared/doctor'

const DOCTOR_USAGE = 'doctor [--json]'
export const doctorCommand: Command = {
  summary: 'set-up checklist: tensor backends (tfjs-node, CUDA, wasm), native kernels, Electron; exit 1 if a check failed',
  usage: DOCTOR_USAGE,
  help: helpText(
    DOCTOR_USAGE,
    'Set-up checklist: which tensor backend loads here and, for each piece that does not (tfjs-node-gpu, libtensorflow, CUDA 11.2 / cuDNN 8.1, GPU, native kernels, Electron, chromium, python3-torch), why and the command that fixes it. Exit status 1 when a check failed.',
    [],
  ),
  async run(args) {
    const { values } = parse(args, {}, DOCTOR_USAGE)
    const { runDoctor } = await import('../doctor')
    const report = await runDoctor()
    out(!!values.json, report, () => formatDoctor(report))
    return doctorExitCode(report)
  },
}
