/** The queue's pure parts: path mapping, job ids, Redis URLs. */
import { describe, expect, it } from 'vitest'
import { jobIdOf, mapPath, mapSpec, parsePathMap, redisConnection, runIdOfJob, sharedRunDir, specRoots } from '../../../../src/main/jobs/queue/protocol'
import type { RunSpec } from '../../../../src/shared/experiments'

describe('queue protocol', () => {
  it('maps the app\'s paths to a worker\'s: longest prefix, whole segments only', () => {
    const map = [parsePathMap('/home/me/data=/mnt/lab/data'), parsePathMap('/home/me/data/big/=/scratch/big'), parsePathMap('/home/me/shared=/mnt/shared')]
    expect(mapPath('/home/me/data/digits/mnist', map)).toBe('/mnt/lab/data/digits/mnist')
    expect(mapPath('/home/me/data/big/imagenet', map)).toBe('/scratch/big/imagenet')
    expect(mapPath('/home/me/database', map)).toBe('/home/me/database')
    expect(mapPath('/home/me/shared', map)).toBe('/mnt/shared')
    expect(mapPath('/elsewhere/x', map)).toBe('/elsewhere/x')
    expect(() => parsePathMap('/no-equals')).toThrow(/REMOTE=LOCAL/)
    expect(() => parsePathMap('=/x')).toThrow(/REMOTE=LOCAL/)
    const spec = {
      model: { path: '/home/me/data/models/r8.safetensors' },
      data: { id: { root: '/home/me/data/color' }, ood: { t: { root: '/home/me/data/texture' }, u: { root: '/other/u' } } },
    } as unknown as RunSpec
    const mapped = mapSpec(spec, map)
    expect(mapped.model.path).toBe('/mnt/lab/data/models/r8.safetensors')
    expect(specRoots(mapped)).toEqual(['/mnt/lab/data/color', '/mnt/lab/data/texture', '/other/u'])
    expect(specRoots(spec)).toEqual(['/home/me/data/color', '/home/me/data/texture', '/other/u'])
  })

  it('job ids name their store and run; run folders are per store and run', () => {
    expect(jobIdOf('ab12', 7)).toBe('ab12-7')
    expect(runIdOfJob('ab12', 'ab12-7')).toBe(7)
    expect(runIdOfJob('ab12', 'cd34-7')).toBeUndefined()
    expect(runIdOfJob('ab12', 'ab12-x')).toBeUndefined()
    expect(sharedRunDir('/mnt/shared/', 'ab12', 7)).toBe('/mnt/shared/runs/ab12-7')
  })

  it('reads redis:// and rediss:// URLs', () => {
    expect(redisConnection('redis://lab:6380')).toMatchObject({ host: 'lab', port: 6380, maxRetriesPerRequest: null })
    expect(redisConnection('redis://:s%40cret@lab/2')).toMatchObject({ host: 'lab', port: 6379, password: 's@cret', db: 2 })
    expect(redisConnection('rediss://lab:1')).toMatchObject({ tls: {} })
    expect(() => redisConnection('http://lab')).toThrow(/redis:\/\//)
    expect(() => redisConnection('lab:6379')).toThrow(/redis:\/\//)
  })
})
