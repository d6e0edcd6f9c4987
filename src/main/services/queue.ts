/**
 * The run queue's operations: the workers (jobs/queue/ through the runner's port) and the queue settings the app's
 * Settings view edits (kept in the store; the app reads them when it starts: app.ts, jobs/queue/config.ts).
 */
import { ApiError } from '../../shared/api'
import type { QueueSettings } from '../../shared/types'
import type { Db } from '../store/db'
import { getSetting, setSetting, storeId } from '../store/remoteRuns'
import type { RunnerPort } from './ports'
import type { Operations } from './validate'

export const REDIS_SETTING = 'queue.redis'
export const SHARED_SETTING = 'queue.shared'

export interface QueueContext {
  db: Db
  runner: RunnerPort
  /** the queue this app uses (null: the local runner) */
  queue?: { redis: string; shared: string; source: 'option' | 'env' | 'settings' } | null
}

function settings(ctx: QueueContext): QueueSettings {
  const q = ctx.queue ?? null
  return {
    active: q && { redis: q.redis, shared: q.shared },
    storeId: storeId(ctx.db),
    saved: { redis: getSetting(ctx.db, REDIS_SETTING) ?? '', shared: getSetting(ctx.db, SHARED_SETTING) ?? '' },
    overridden: !!q && q.source !== 'settings',
  }
}

export function queueOperations(ctx: QueueContext): Pick<Operations, 'workers.list' | 'queue.settings' | 'queue.saveSettings'> {
  return {
    'workers.list': async () => (ctx.runner.workers ? ctx.runner.workers() : []),
    'queue.settings': async () => settings(ctx),
    'queue.saveSettings': async (req) => {
      const redis = req.redis?.trim()
      if (redis && !/^rediss?:\/\/[^\s/]+/.test(redis)) throw new ApiError('bad_request', `redis: expected redis://HOST:PORT (got ${redis})`)
      if (redis !== undefined) setSetting(ctx.db, REDIS_SETTING, redis || null)
      if (req.shared !== undefined) setSetting(ctx.db, SHARED_SETTING, req.shared.trim() || null)
      return settings(ctx)
    },
  }
}
