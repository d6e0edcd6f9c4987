import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/paths'

/** Runs the project's dependency-cruiser rules on a tree; returns the exit code and the report. */
function cruise(cwd: string): { code: number; out: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs'), 'src', '--config', join(ROOT, '.dependency-cruiser.cjs')], { cwd, encoding: 'utf8', timeout: 120_000 })
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` }
}

const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

/** A small tree laid out like the project (src/shared, src/main, src/renderer), with the given files. */
function tree(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'daft-layers-'))
  dirs.push(d)
  symlinkSync(join(ROOT, 'node_modules'), join(d, 'node_modules'), 'dir')
  copyFileSync(join(ROOT, 'tsconfig.node.json'), join(d, 'tsconfig.node.json'))
  writeFileSync(join(d, 'package.json'), JSON.stringify({ name: 'layers-fixture', type: 'module' }))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(d, path)), { recursive: true })
    writeFileSync(join(d, path), text)
  }
  return d
}

describe('layer rules (.dependency-cruiser.cjs)', () => {
  it('the project itself has no violations', () => {
    const r = cruise(ROOT)
    expect(r.out).toMatch(/no dependency violations found/)
    expect(r.code).toBe(0)
  })

  it('bite: shared importing main, Node or tfjs; the renderer importing main or Node; tfjs outside the engine; Electron outside its entry; a cycle', () => {
    const d = tree({
      'src/main/services/x.ts': "import * as tf from '@tensorflow/tfjs'\nimport { app } from 'electron'\nexport const x = [tf, app]\n",
      'src/main/engine/ok.ts': "import * as tf from '@tensorflow/tfjs'\nexport const ok = tf\n",
      'src/main/index.ts': "import { app } from 'electron'\nexport const entry = app\n",
      'src/shared/bad.ts': "import { x } from '../main/services/x'\nimport { readFileSync } from 'node:fs'\nexport const bad = [x, readFileSync]\n",
      'src/renderer/src/view.ts': "import { x } from '../../main/services/x'\nimport { join } from 'node:path'\nexport const v = [x, join]\n",
      'src/main/a.ts': "import { b } from './b'\nexport const a = () => b\n",
      'src/main/services/sql.ts': "import Database from 'better-sqlite3'\nexport const db = Database\n",
      'src/main/store/ok.ts': "import Database from 'better-sqlite3'\nexport const store = Database\n",
      'src/main/b.ts': "import { a } from './a'\nexport const b = () => a\n",
    })
    const r = cruise(d)
    expect(r.code).not.toBe(0)
    for (const rule of ['shared-is-pure', 'shared-no-platform', 'renderer-only-shared', 'renderer-no-node', 'tfjs-only-in-engine', 'electron-only-in-entry-and-preload', 'sqlite-only-in-store', 'no-circular']) {
      expect(r.out, rule).toContain(rule)
    }
    // the allowed ones are not reported: tfjs in the engine, Electron in main/index.ts
    expect(r.out).not.toMatch(/src\/main\/engine\/ok\.ts/)
    expect(r.out).not.toMatch(/src\/main\/store\/ok\.ts/)
    expect(r.out).not.toMatch(/electron-only-in-entry-and-preload: src\/main\/index\.ts/)
  })

  it('bite: BullMQ (or its ioredis) outside main/jobs', () => {
    const d = tree({
      'src/main/jobs/queue/ok.ts': "import { Queue } from 'bullmq'\nexport const q = Queue\n",
      'src/main/services/queue.ts': "import { Queue } from 'bullmq'\nexport const q = Queue\n",
      'src/main/cli/redis.ts': "import Redis from 'ioredis'\nexport const r = Redis\n",
    })
    const r = cruise(d)
    expect(r.code).not.toBe(0)
    expect(r.out).toMatch(/bullmq-only-in-jobs: src\/main\/services\/queue\.ts → \S*node_modules\/bullmq\//)
    expect(r.out).toMatch(/bullmq-only-in-jobs: src\/main\/cli\/redis\.ts → \S*node_modules\/ioredis\//)
    expect(r.out).not.toMatch(/src\/main\/jobs\/queue\/ok\.ts/)
  })

  it('bite: services importing jobs (a type-only import too); the CLI importing the store', () => {
    const d = tree({
      'src/main/jobs/runner.ts': "import type { RunnerPort } from '../services/ports'\nexport class JobRunner implements RunnerPort { kick(): void {} }\n",
      'src/main/services/ports.ts': 'export interface RunnerPort { kick(): void }\n',
      'src/main/services/index.ts': "import type { JobRunner } from '../jobs/runner'\nexport type R = JobRunner\n",
      'src/main/store/runs.ts': 'export const listRuns = (): number[] => []\n',
      'src/main/cli/runs.ts': "import { listRuns } from '../store/runs'\nexport const runs = listRuns\n",
      'src/main/cli/ok.ts': "import type { RunnerPort } from '../services/ports'\nexport type P = RunnerPort\n",
    })
    const r = cruise(d)
    expect(r.code).not.toBe(0)
    expect(r.out).toMatch(/services-not-jobs: src\/main\/services\/index\.ts → src\/main\/jobs\/runner\.ts/)
    expect(r.out).toMatch(/cli-not-store: src\/main\/cli\/runs\.ts → src\/main\/store\/runs\.ts/)
    // the allowed direction is not reported: jobs implementing the services' port, the CLI using services
    expect(r.out).not.toMatch(/src\/main\/jobs\/runner\.ts →/)
    expect(r.out).not.toMatch(/src\/main\/cli\/ok\.ts/)
  })
})
