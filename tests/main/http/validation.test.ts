/**
 * The service boundary over HTTP: the real request schemas in front of stand-in operations (services/validate.ts).
 * A refused request is a 400 naming the field(s), with the same problems as `issues`, and the operation never runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Server } from 'node:http'
import { API_OPERATIONS, ApiError, type OpName } from '../../../src/shared/api'
import { defaultRecipe } from '../../../src/shared/recipes'
import { createHttpServer, listenLoopback } from '../../../src/main/http/server'
import { EventHub } from '../../../src/main/services/events'
import { parseRequest, validated, type Operations } from '../../../src/main/services/validate'

const TOKEN = 'test-token-0123456789-abcdefghijklmnop'
const calls: { op: OpName; req: unknown }[] = []
// every operation answers what it received, so a test sees the parsed request
const ops = Object.fromEntries(API_OPERATIONS.map((op) => [op, async (req: unknown) => (calls.push({ op, req }), { received: req })])) as unknown as Operations
let server: Server
let base: string
let staticDir: string

beforeAll(async () => {
  staticDir = mkdtempSync(join(tmpdir(), 'daft-static-'))
  server = createHttpServer({ services: validated(ops), events: new EventHub(), staticDir, token: TOKEN })
  base = `http://127.0.0.1:${await listenLoopback(server, 0)}`
})
afterAll(() => {
  server.closeAllConnections()
  server.close()
  rmSync(staticDir, { recursive: true, force: true })
})

async function post(op: string, body: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${base}/api/op/${op}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: r.status, body: await r.json() }
}

const spec = {
  name: 'x',
  model: { path: '/m.th' },
  data: { id: { root: '/d' }, valFraction: 0.1, splitSeed: 0, ood: {}, size: 32, normalize: 'imagenet', augment: [] },
  methods: [defaultRecipe('FT')],
  seeds: [0],
}

describe('request validation over HTTP', () => {
  it('answers 400 naming each wrong field, and does not run the operation', async () => {
    calls.length = 0
    const r = await post('datasets.preview', { id: 1, split: 5, perClass: 65 })
    expect(r.status).toBe(400)
    expect(r.body.error).toEqual({
      code: 'bad_request',
      message: 'split: a split name (text) (got 5); perClass: an integer from 1 to 64 (got 65)',
      issues: [
        { path: 'split', message: 'a split name (text) (got 5)' },
        { path: 'perClass', message: 'an integer from 1 to 64 (got 65)' },
      ],
    })
    const step = await post('runs.get', { runId: 2, afterStep: 'all' })
    expect(step.status).toBe(400)
    expect(step.body.error.message).toBe("afterStep: an integer step, -1 or more (got 'all')")
    expect(calls).toEqual([])
  })

  it('names the path inside a nested spec', async () => {
    const bad = { ...spec, data: { ...spec.data, normalize: 'custom' }, methods: [{ ...defaultRecipe('DAFT'), lr: { backbone: 0.01, head: -1 } }] }
    const r = await post('experiments.create', { projectId: 1, spec: bad })
    expect(r.status).toBe(400)
    expect(r.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['spec.data.normalize', 'spec.methods[0].lr.head'])
    expect(calls).toEqual([])
  })

  it('passes a valid request on, parsed (unknown keys dropped)', async () => {
    const r = await post('experiments.create', { projectId: 1, spec, sneaky: true })
    expect(r.status).toBe(200)
    expect(r.body.result.received).toEqual({ projectId: 1, spec })
    expect(calls.map((c) => c.op)).toEqual(['experiments.create'])
  })
})

describe('parseRequest (what the IPC transport and the CLI reach through the same services)', () => {
  it('throws a typed ApiError with the issues', () => {
    let e: unknown
    try {
      parseRequest('runs.export', { runId: 1.5, format: 'onnx', out: '' })
    } catch (err) {
      e = err
    }
    expect(e).toBeInstanceOf(ApiError)
    expect((e as ApiError).code).toBe('bad_request')
    expect((e as ApiError).issues?.map((i) => i.path)).toEqual(['runId', 'format', 'out'])
    expect(parseRequest('runs.export', { runId: 1, format: 'tfjs', out: '/x' })).toEqual({ runId: 1, format: 'tfjs', out: '/x' })
  })

  it('rejects (does not throw) when called through the services', async () => {
    await expect(validated(ops)['runs.cancel']({ runId: 'x' as never })).rejects.toThrow("runId: expected an integer id (got 'x')")
  })
})
