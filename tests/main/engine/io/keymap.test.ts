import { describe, expect, it } from 'vitest'
import { matchKeys, normalizeStateDict } from '../../../../src/main/engine/io/keymap'
import type { HostTensor } from '../../../../src/main/engine/io/types'

const t = (v = 0): HostTensor => ({ shape: [1], dtype: 'float32', data: Float32Array.from([v]) })

describe('normalizeStateDict', () => {
  it('unwraps a MoCo v2 checkpoint: module.encoder_q. stripped, momentum encoder, queue and MLP head dropped', () => {
    const sd = new Map<string, unknown>([
      ['module.queue', t()], ['module.queue_ptr', { shape: [1], dtype: 'int64', data: Int32Array.from([3]) }],
      ['module.encoder_q.conv1.weight', t(1)], ['module.encoder_q.bn1.weight', t(2)],
      ['module.encoder_q.bn1.num_batches_tracked', { shape: [], dtype: 'int64', data: Int32Array.from([9]) }],
      ['module.encoder_q.fc.0.weight', t()], ['module.encoder_q.fc.0.bias', t()], ['module.encoder_q.fc.2.weight', t()], ['module.encoder_q.fc.2.bias', t()],
      ['module.encoder_k.conv1.weight', t()], ['module.encoder_k.bn1.weight', t()],
    ])
    const raw = new Map<string, unknown>([['epoch', 200], ['arch', 'resnet50'], ['state_dict', sd], ['optimizer', new Map([['state', new Map([[0, t()]])]])]])
    const n = normalizeStateDict(raw)
    expect([...n.stateDict.keys()]).toEqual(['conv1.weight', 'bn1.weight'])
    expect(n.stateDict.get('bn1.weight')!.data[0]).toBe(2)
    expect(n.meta).toEqual({ epoch: 200, arch: 'resnet50' })
    const notes = n.notes.join('\n')
    expect(notes).toMatch(/unwrapped 'state_dict'/)
    expect(notes).toMatch(/ignored non-plain entry 'optimizer'/)
    expect(notes).toMatch(/stripped 'module\.' prefix .* from 11 key/)
    expect(notes).toMatch(/dropped 2 key\(s\) of the MoCo momentum encoder/)
    expect(notes).toMatch(/dropped 2 key\(s\) of the MoCo negatives queue/)
    expect(notes).toMatch(/stripped 'encoder_q\.' prefix/)
    expect(notes).toMatch(/dropped 4 key\(s\) of an MLP projection head/)
    expect(notes).toMatch(/left 1 BatchNorm num_batches_tracked/)
  })

  it('handles a bare state dict, nested model/net wrappers, projection_head and prototypes', () => {
    const bare = normalizeStateDict(new Map([['fc.weight', t()], ['layer1.0.bn1.num_batches_tracked', t()]]))
    expect([...bare.stateDict.keys()]).toEqual(['fc.weight']) // a real classifier fc is kept
    expect(bare.notes.some((s) => s.startsWith('unwrapped'))).toBe(false)
    const nested = normalizeStateDict(new Map<string, unknown>([
      ['model', new Map<string, unknown>([['net', new Map([['backbone.x', t()], ['projection_head.0.weight', t()], ['prototypes.weight', t()]])], ['best_acc', t(0.9)]])],
    ]))
    expect([...nested.stateDict.keys()]).toEqual(['backbone.x'])
    expect(nested.meta.best_acc).toBeCloseTo(0.9)
    expect(nested.notes.join('\n')).toMatch(/unwrapped 'model'[\s\S]*unwrapped 'model\.net'/)
  })

  it('leaves out a metadata entry too large on its own (noted), refuses one that expands shared lists', () => {
    const big = Array.from({ length: 500 }, (_, i) => new Map(Array.from({ length: 300 }, (_, j) => [`k${j}`, i * j])))
    const n = normalizeStateDict(new Map<string, unknown>([['history', big], ['epoch', 3], ['state_dict', new Map([['w', t()]])]]), 'big.pth')
    expect(n.meta).toEqual({ epoch: 3 })
    expect(n.notes.join('\n')).toMatch(/ignored entry 'history' beside the state dict: more than 100000 values/)
    const shared = Array.from({ length: 400 }, (_, i) => i)
    const rows = Array.from({ length: 400 }, () => shared) // 400 references to one list: 160,000 values once copied
    expect(() => normalizeStateDict(new Map<string, unknown>([['rows', rows], ['state_dict', new Map([['w', t()]])]]), 'shared.pth'))
      .toThrow(/^shared\.pth: refused to load: the metadata entry 'rows' beside the state dict expands to more than 100000 values by referencing the same lists or dicts again and again/)
  })

  it('refuses a classifier head without weights or with more than 100,000 classes', () => {
    const head = (shape: number[], n: number): HostTensor => ({ shape, dtype: 'float32', data: new Float32Array(n) })
    expect(() => normalizeStateDict(new Map([['fc.weight', head([1e9, 0], 0)]]), 'h.pth')).toThrow(/^h\.pth: classifier 'fc\.weight' \(shape \[1000000000,0\]\) holds no weights/)
    expect(() => normalizeStateDict(new Map([['module.linear.weight', head([100_001, 1], 100_001)]]), 'h.pth')).toThrow(/classifier 'linear\.weight' .* has 100001 outputs; at most 100000/)
    expect(normalizeStateDict(new Map([['fc.weight', head([1000, 2], 2000)]])).stateDict.get('fc.weight')!.shape).toEqual([1000, 2])
  })

  it('throws naming the file when there is no tensor mapping', () => {
    expect(() => normalizeStateDict(new Map([['epoch', 1]]), 'x.pth')).toThrow(/^x\.pth: no state dict found/)
  })
})

describe('matchKeys', () => {
  it('lists missing and unexpected keys in order', () => {
    const sd = new Map([['a', t()], ['b', t()], ['z', t()]])
    expect(matchKeys(sd, ['a', 'b', 'c', 'd'])).toEqual({ missing: ['c', 'd'], unexpected: ['z'] })
    expect(matchKeys(sd, ['z', 'b', 'a'])).toEqual({ missing: [], unexpected: [] })
  })
})
