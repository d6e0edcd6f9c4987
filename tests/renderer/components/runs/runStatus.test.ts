import { describe, expect, it } from 'vitest'
import { CANCELLABLE, RESUMABLE, healthBadge } from '../../../../src/renderer/src/components/runs/runStatus'

describe('run list status and health badge', () => {
  it('cancels queued or running runs and resumes stopped ones', () => {
    expect(CANCELLABLE).toEqual(['queued', 'running'])
    expect(RESUMABLE).toEqual(['cancelled', 'failed', 'interrupted'])
  })
  it('shows no badge before the checks ran or when the run is healthy', () => {
    expect(healthBadge(null)).toBeNull()
    expect(healthBadge({ ok: true, warnings: [] })).toBeNull()
  })
  it('counts the warnings, red when one is an error, with every warning in the tooltip', () => {
    const w = { code: 'near-chance', severity: 'warning', message: 'the reported ID val accuracy 20.0 % is at chance level', cause: 'c', knob: 'k' } as const
    const e = { code: 'loss-blowup', severity: 'error', message: 'the batch loss rose', cause: 'lr too high', knob: 'lower lr' } as const
    expect(healthBadge({ ok: false, warnings: [w] })).toEqual({ level: 'warning', text: '⚠ 1', title: 'warning near-chance: the reported ID val accuracy 20.0 % is at chance level. Likely cause: c. Try: k.' })
    const b = healthBadge({ ok: false, warnings: [w, e] })!
    expect(b.level).toBe('error')
    expect(b.text).toBe('⚠ 2')
    expect(b.title.split('\n')).toHaveLength(2)
  })
})
