/** Convolution shapes shared by the wasm and native kernel tests: strides 1-3, same/valid/explicit padding, odd sizes. */
import * as tf from '@tensorflow/tfjs'

export type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding
export interface Case {
  batch: number
  h: number
  w: number
  cin: number
  cout: number
  f: number
  strides: [number, number]
  pad: Pad
}

export const cases: Case[] = []
let i = 0
for (const f of [1, 3, 5, 7]) {
  for (const s of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      const h = [5, 7, 9, 11, 13].find((d) => d >= f + i % 3)!
      cases.push({ batch: 1 + (i % 4), h, w: h + 2, cin: 1 + ((i * 3) % 8), cout: 1 + ((i * 5 + 2) % 8), f, strides: [s, s], pad })
      i++
    }
  }
}
// non-square strides, numeric and explicit paddings, spatial sizes a stride does not divide
cases.push({ batch: 2, h: 9, w: 6, cin: 3, cout: 5, f: 3, strides: [2, 1], pad: 'same' })
cases.push({ batch: 3, h: 8, w: 11, cin: 4, cout: 2, f: 3, strides: [1, 2], pad: 'valid' })
cases.push({ batch: 2, h: 7, w: 7, cin: 2, cout: 3, f: 3, strides: [2, 2], pad: 1 })
cases.push({ batch: 1, h: 10, w: 9, cin: 5, cout: 4, f: 5, strides: [2, 2], pad: [[0, 0], [1, 2], [0, 3], [0, 0]] })
cases.push({ batch: 4, h: 32, w: 32, cin: 8, cout: 8, f: 3, strides: [2, 2], pad: 'same' })
// stride phases without taps (f < s), f = s, stride 3, even filters with asymmetric 'same' padding, 1x1 subsampling
cases.push({ batch: 2, h: 10, w: 9, cin: 3, cout: 4, f: 1, strides: [3, 3], pad: 'same' })
cases.push({ batch: 2, h: 9, w: 10, cin: 4, cout: 3, f: 2, strides: [2, 2], pad: 'valid' })
cases.push({ batch: 1, h: 11, w: 12, cin: 2, cout: 5, f: 3, strides: [3, 3], pad: 1 })
cases.push({ batch: 2, h: 8, w: 7, cin: 3, cout: 3, f: 4, strides: [2, 2], pad: 'same' })
cases.push({ batch: 3, h: 9, w: 9, cin: 6, cout: 5, f: 1, strides: [2, 2], pad: 'valid' })
// stride 1 with the output the input's size: the filter gradient's shifted-plane patch builder (odd/even filters)
cases.push({ batch: 2, h: 6, w: 9, cin: 3, cout: 4, f: 2, strides: [1, 1], pad: 'same' })
cases.push({ batch: 2, h: 7, w: 5, cin: 5, cout: 2, f: 4, strides: [1, 1], pad: 'same' })
cases.push({ batch: 1, h: 3, w: 3, cin: 2, cout: 3, f: 5, strides: [1, 1], pad: 'same' })

export function label(c: Case): string {
  return `N${c.batch} ${c.h}x${c.w} ${c.cin}->${c.cout} f${c.f} s${c.strides} pad ${JSON.stringify(c.pad)}`
}

export function shapes(c: Case) {
  const xShape: [number, number, number, number] = [c.batch, c.h, c.w, c.cin]
  const filterShape: [number, number, number, number] = [c.f, c.f, c.cin, c.cout]
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, c.strides, 1, c.pad as never)
  return { xShape, filterShape, dyShape: info.outShape }
}

