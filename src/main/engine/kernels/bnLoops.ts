/**
 * The channel loops BatchNorm's kernels are made of (kernels/batchNorm.ts): the interface every backend's
 * implementation provides (JS here for cpu, wasm SIMD in wasm/bnSimd.ts, the addon in native.ts), and the plain
 * JavaScript one. Their own file so that the implementations and batchNorm.ts, which picks one, do not import each other.
 */
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from './util'

/**
 * The three loops every kernel here is made of, over x viewed as [rows, c] (channels last), on one backend's memory.
 * Sums accumulate in float64; coefficient vectors are float32 [c].
 */
export interface ChannelLoops {
  /** a new float32 output of `shape` */
  output(shape: number[]): TensorInfo
  /** the values of a (small) tensor; call after the outputs are allocated (a wasm heap growth detaches views) */
  read(t: TensorInfo): Float32Array
  /** s[k] = sum_i (x[i,k] - center[k]), t[k] = sum_i (x[i,k] - center[k])^2 */
  sums(x: TensorInfo, center: Float32Array): { s: Float64Array; t: Float64Array }
  /** s[k] = sum_i o[i,k], t[k] = sum_i o[i,k] * (x[i,k] - center[k]) */
  dotSums(x: TensorInfo, o: TensorInfo, center: Float32Array): { s: Float64Array; t: Float64Array }
  /** out = x * a + b per channel, plus y * g when given */
  affine(out: TensorInfo, x: TensorInfo, a: Float32Array, b: Float32Array, y?: TensorInfo, g?: Float32Array): void
}

/** The loops in plain JavaScript over Float32Arrays (the cpu backend's implementation). */
export function jsLoops(view: (t: TensorInfo) => Float32Array, output: (shape: number[]) => TensorInfo): ChannelLoops {
  return {
    output,
    read: view,
    sums(xInfo, center) {
      const x = view(xInfo)
      const c = center.length
      const s = new Float64Array(c)
      const t = new Float64Array(c)
      for (let k = 0; k < c; k++) {
        const ck = center[k]
        let a = 0
        let b = 0
        for (let i = k; i < x.length; i += c) {
          const d = x[i] - ck
          a += d
          b += d * d
        }
        s[k] = a
        t[k] = b
      }
      return { s, t }
    },
    dotSums(xInfo, oInfo, center) {
      const x = view(xInfo)
      const o = view(oInfo)
      const c = center.length
      const s = new Float64Array(c)
      const t = new Float64Array(c)
      for (let k = 0; k < c; k++) {
        const ck = center[k]
        let a = 0
        let b = 0
        for (let i = k; i < x.length; i += c) {
          a += o[i]
          b += o[i] * (x[i] - ck)
        }
        s[k] = a
        t[k] = b
      }
      return { s, t }
    },
    affine(outInfo, xInfo, a, b, yInfo, g) {
      const out = view(outInfo)
      const x = view(xInfo)
      const c = a.length
      const y = yInfo ? view(yInfo) : null
      for (let k = 0; k < c; k++) {
        const ak = a[k]
        const bk = b[k]
        if (y && g) {
          const gk = g[k]
          for (let i = k; i < x.length; i += c) out[i] = y[i] * gk + x[i] * ak + bk
        } else {
          for (let i = k; i < x.length; i += c) out[i] = x[i] * ak + bk
        }
      }
    },
  }
}

/**
 * Training BatchNorm's backward as one affine map per channel, from the per-channel sums of the incoming gradient g
 * (`sg` = sum g, `sgx` = sum g * (x - mu)) over `rows` rows: dx = gamma*r*(g - mean(g) - xhat*mean(g*xhat)) =
 * k1*g + k2*x + k3 with xhat = (x - mu)*r, r = 1/sqrt(v + eps); also fills dscale = sgx*r and doffset = sg. One copy
 * for the plain kernel (batchNorm.ts, g = dy) and the native fused ones (native.ts, g = the activation's gradient).
 */
export function bnGradCoefficients(
  gamma: Float32Array,
  mu: Float32Array,
  v: Float32Array,
  sg: Float64Array,
  sgx: Float64Array,
  eps: number,
  rows: number,
  dscale: Float32Array,
  doffset: Float32Array,
): { k1: Float32Array; k2: Float32Array; k3: Float32Array } {
  const c = gamma.length
  const k1 = new Float32Array(c)
  const k2 = new Float32Array(c)
  const k3 = new Float32Array(c)
  for (let k = 0; k < c; k++) {
    const r = 1 / Math.sqrt(v[k] + eps)
    const c1 = gamma[k] * r
    const c2 = (-gamma[k] * r * r * r * sgx[k]) / rows
    k1[k] = c1
    k2[k] = c2
    k3[k] = (-c1 * sg[k]) / rows - c2 * mu[k]
    dscale[k] = sgx[k] * r
    doffset[k] = sg[k]
  }
  return { k1, k2, k3 }
}

/**
 * The inputs of a channels-last BatchNorm kernel (plain or fused): x non-empty, rank >= 2, float32; `vectors` float32 [c];
 * `others` float32 of x's shape. Returns c; errors name the kernel and the input.
 */
export function checkBnInputs(kernel: string, x: TensorInfo, vectors: Record<string, TensorInfo>, others: Record<string, TensorInfo> = {}): number {
  const c = x.shape[x.shape.length - 1]
  if (x.shape.length < 2) throw new Error(`kernels/${kernel}: x must be channels-last with rank >= 2, got [${x.shape}]`)
  for (const [name, t] of Object.entries({ x, ...vectors, ...others })) {
    if (t.dtype !== 'float32') throw new Error(`kernels/${kernel}: ${name} must be float32, got ${t.dtype}`)
  }
  for (const [name, t] of Object.entries(vectors)) {
    if (t.shape.length !== 1 || t.shape[0] !== c) throw new Error(`kernels/${kernel}: ${name} must have shape [${c}], got [${t.shape}]`)
  }
  for (const [name, t] of Object.entries(others)) {
    if (!tf.util.arraysEqual(t.shape, x.shape)) throw new Error(`kernels/${kernel}: ${name} has shape [${t.shape}] but x has [${x.shape}]`)
  }
  if (tf.util.sizeFromShape(x.shape) === 0) throw new Error(`kernels/${kernel}: x [${x.shape}] is empty`)
  return c
}
