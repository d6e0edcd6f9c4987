/** Housekeeping for the decoded-image cache (files written by batchIo's cacheWrite: <dir>/<2 hex>/<sha1>.rgb). */
import fs from 'node:fs'
import path from 'node:path'

/** Number of cached images and their bytes. A missing folder counts as empty. */
export function cacheSize(dir: string): { files: number; bytes: number } {
  let files = 0
  let bytes = 0
  let shards: string[]
  try {
    shards = fs.readdirSync(dir)
  } catch {
    return { files, bytes }
  }
  for (const shard of shards) {
    const sub = path.join(dir, shard)
    if (!/^[0-9a-f]{2}$/.test(shard)) continue
    for (const f of fs.readdirSync(sub)) {
      if (!f.endsWith('.rgb')) continue
      files++
      bytes += fs.statSync(path.join(sub, f)).size
    }
  }
  return { files, bytes }
}

/** Delete the cache shards (only our own files: two-hex-digit folders of .rgb / .tmp files). */
export function clearCache(dir: string): void {
  let shards: string[]
  try {
    shards = fs.readdirSync(dir)
  } catch {
    return
  }
  for (const shard of shards) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue
    const sub = path.join(dir, shard)
    for (const f of fs.readdirSync(sub)) if (f.endsWith('.rgb') || f.endsWith('.tmp')) fs.rmSync(path.join(sub, f), { force: true })
    fs.rmdirSync(sub, { recursive: false })
  }
}
