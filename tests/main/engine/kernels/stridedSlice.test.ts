/** The wasm StridedSlice row-copy kernel against the cpu backend, plus its fallback to wasm's own kernel. */
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import { plainSliceShape } from '../../../../src/main/engine/kernels/stridedSlice'
import { runOn, seededValues } from './compare'

type Case = { shape: number[]; begin: number[]; end: number[]; strides: number[]; masks?: Partial<Record<'beginMask' | 'endMask' | 'shrinkAxisMask', number>> }

const cases: Case[] = [
  { shape: [3, 8, 8, 5], begin: [0, 0, 0, 0], end: [3, 8, 8, 5], strides: [1, 2, 2, 1] }, // option-A subsampling
  { shape: [2, 7, 9, 3], begin: [0, 0, 0, 0], end: [2, 7, 9, 3], strides: [1, 2, 2, 1] }, // odd sizes
  { shape: [2, 7, 9, 3], begin: [1, 1, 2, 1], end: [2, 6, 9, 3], strides: [1, 3, 2, 1] },
  { shape: [4, 5, 6, 2], begin: [0, 0, 0, 0], end: [4, 50, 60, 2], strides: [2, 1, 1, 1] }, // end past the size
  { shape: [5, 6], begin: [1, 2], end: [5, 5], strides: [2, 1] },
  { shape: [10], begin: [3], end: [8], strides: [1] },
  { shape: [3, 3, 3], begin: [3, 0, 0], end: [3, 3, 3], strides: [1, 1, 1] }, // empty
  // general kernel: masks, negative indices, a strided last axis
  { shape: [3, 8, 8, 5], begin: [0, 1, 0, 0], end: [0, 8, 8, 5], strides: [1, 2, 2, 1], masks: { beginMask: 1, endMask: 1 } },
  { shape: [4, 6, 3], begin: [-3, 0, 0], end: [4, 6, 3], strides: [1, 1, 1] },
  { shape: [4, 6, 4], begin: [0, 0, 0], end: [4, 6, 4], strides: [1, 1, 2] },
  { shape: [4, 6, 3], begin: [1, 0, 0], end: [2, 6, 3], strides: [1, 1, 1], masks: { shrinkAxisMask: 1 } },
]

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
  tf.env().set('IS_TEST', true)
})

describe('StridedSlice on wasm', () => {
  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('matches cpu exactly: %s', async (_, c) => {
    const values = seededValues(tf.util.sizeFromShape(c.shape), 3)
    const run = () => tf.stridedSlice(tf.tensor(values, c.shape), c.begin, c.end, c.strides, c.masks?.beginMask ?? 0, c.masks?.endMask ?? 0, 0, 0, c.masks?.shrinkAxisMask ?? 0)
    const shape = tf.tidy(() => run().shape)
    const [wasm] = await runOn('wasm', run)
    const [cpu] = await runOn('cpu', run)
    expect(Array.from(wasm)).toEqual(Array.from(cpu))
    await tf.setBackend('wasm')
    expect(tf.tidy(() => run().shape)).toEqual(shape)
  })

  it('takes the row-copy path only for plain slices', () => {
    const attrs = (over: Record<string, unknown> = {}) => ({ begin: [0, 0], end: [4, 4], strides: [2, 1], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0, ...over }) as tf.NamedAttrMap
    expect(plainSliceShape([5, 4], attrs())).toEqual([2, 4])
    expect(plainSliceShape([5, 4], attrs({ strides: [2, 2] }))).toBeNull()
    expect(plainSliceShape([5, 4], attrs({ begin: [-1, 0] }))).toBeNull()
    expect(plainSliceShape([5, 4], attrs({ endMask: 1 }))).toBeNull()
    expect(plainSliceShape([5, 4], attrs({ strides: [-1, 1] }))).toBeNull()
  })
})
