/**
 * `daft doctor` / the Setup panel: which tensor backend loads here and, for every piece that does not, why and the
 * command that fixes it. The checks run in the main process (src/main/doctor.ts); this file holds the report's
 * types and its plain-text checklist, shared by the CLI and the renderer. Pure.
 */
import type { BackendName } from './types'

/**
 * ok: present and working. missing: not there (the reason says where it was looked for). failed: there but broken
 * (e.g. installed and does not load). optional-missing: not there, and only development needs it.
 */
export type DoctorStatus = 'ok' | 'missing' | 'failed' | 'optional-missing'

export type DoctorGroup = 'backend' | 'native' | 'desktop' | 'dev'

export interface DoctorItem {
  /** stable id: tfjs-node-gpu, cuda, gpu, tfjs-node, wasm, cpu, native, electron, electron-sqlite, chromium, torch */
  id: string
  group: DoctorGroup
  label: string
  status: DoctorStatus
  /** one line: what was found, with the exact paths / libraries looked at */
  reason: string
  /** the command that fixes it (run in the report's root), when something is to be done */
  action?: string
  /** what the command needs or does (network, a driver), shown beside it */
  hint?: string
}

export interface DoctorReport {
  /** the backend the engine picks here (tensorflow > wasm > cpu, or DAFT_BACKEND); null when the forced one cannot load */
  backend: { name: BackendName | null; detail: string }
  items: DoctorItem[]
  /** project root: the folder the actions run in */
  root: string
  /** e.g. "linux x64, Node 20.20.2" */
  platform: string
  checkedAt: string
  seconds: number
}

export const DOCTOR_GROUPS: { group: DoctorGroup; title: string }[] = [
  { group: 'backend', title: 'Tensor backends (tried in order: tensorflow > wasm > cpu)' },
  { group: 'native', title: 'Native kernels (C++ convolutions for the wasm backend)' },
  { group: 'desktop', title: 'Desktop app (npm start)' },
  { group: 'dev', title: 'Development (optional)' },
]

export const DOCTOR_STATUS_LABEL: Record<DoctorStatus, string> = {
  ok: 'ok',
  missing: 'missing',
  failed: 'failed',
  'optional-missing': 'optional',
}

/** 1 when a check failed (something is installed but broken), else 0: missing pieces have a working fallback. */
export function doctorExitCode(r: DoctorReport): number {
  return r.items.some((i) => i.status === 'failed') ? 1 : 0
}

/** ok items; missing or failed ones (something to do); optional ones missing. */
export function doctorCounts(r: DoctorReport): { ok: number; toFix: number; optional: number } {
  const n = (f: (s: DoctorStatus) => boolean): number => r.items.filter((i) => f(i.status)).length
  return { ok: n((s) => s === 'ok'), toFix: n((s) => s === 'missing' || s === 'failed'), optional: n((s) => s === 'optional-missing') }
}

/** The report as a checklist: one line per item, its fix command (and what that needs) indented under it. */
export function formatDoctor(r: DoctorReport): string {
  const tagWidth = Math.max(...Object.values(DOCTOR_STATUS_LABEL).map((s) => s.length)) + 2
  const pad = ' '.repeat(2 + tagWidth + 1)
  const lines = [
    `daft doctor (${r.platform}; ${r.root})`,
    `tensor backend: ${r.backend.name ?? 'none'}: ${r.backend.detail}`,
  ]
  for (const { group, title } of DOCTOR_GROUPS) {
    const items = r.items.filter((i) => i.group === group)
    if (!items.length) continue
    lines.push('', title)
    for (const i of items) {
      lines.push(`  ${`[${DOCTOR_STATUS_LABEL[i.status]}]`.padEnd(tagWidth)} ${i.label}: ${i.reason}`)
      if (i.action) lines.push(`${pad}fix: ${i.action}`)
      if (i.hint) lines.push(`${pad}note: ${i.hint}`)
    }
  }
  const c = doctorCounts(r)
  lines.push('', `${c.ok} ok, ${c.toFix} to fix, ${c.optional} optional missing; run the commands in ${r.root} (checked in ${r.seconds.toFixed(1)} s)`)
  return lines.join('\n')
}
