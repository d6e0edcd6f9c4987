/**
 * Is a run queue configured, and where: the startApp option (the CLI's --redis / --shared), else $DAFT_REDIS /
 * $DAFT_SHARED, else the store's settings (the app's Settings view). An empty Redis URL means the local runner.
 */
import { join } from 'node:path'
import type { Db } from '../../store/db'
import { getSetting } from '../../store/remoteRuns'
import { REDIS_SETTING, SHARED_SETTING } from '../../services/queue'

export interface QueueConfig {
  /** redis://HOST:PORT */
  redis: string
  /** the folder every worker and the app reach (run folders under <shared>/runs) */
  shared: string
  /** where the URL came from */
  source: 'option' | 'env' | 'settings'
}

export function queueConfig(db: Db, opts: { redis?: string; shared?: string; dataDir: string }): QueueConfig | null {
  const env = process.env.DAFT_REDIS
  const [redis, source] = opts.redis !== undefined ? [opts.redis, 'option' as const] : env !== undefined ? [env, 'env' as const] : [getSetting(db, REDIS_SETTING) ?? '', 'settings' as const]
  if (!redis.trim()) return null
  const shared = opts.shared || process.env.DAFT_SHARED || getSetting(db, SHARED_SETTING) || join(opts.dataDir, 'shared')
  return { redis: redis.trim(), shared, source }
}
