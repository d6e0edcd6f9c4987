import type { RunStatus } from '../../../../shared/experiments'
import type { RunHealth } from '../../../../shared/health'
import { healthLevel, healthTitle } from '../../lib/health'

export const CANCELLABLE: readonly RunStatus[] = ['queued', 'running']
export const RESUMABLE: readonly RunStatus[] = ['cancelled', 'failed', 'interrupted']

/** The run list's health badge: "⚠ 2" in red (an error) or amber, the warnings as its tooltip; null when healthy or not assessed. */
export function healthBadge(h: RunHealth | null | undefined): { level: 'error' | 'warning'; text: string; title: string } | null {
  const level = healthLevel(h)
  if (!level || !h) return null
  return { level, text: `⚠ ${h.warnings.length}`, title: healthTitle(h) }
}
