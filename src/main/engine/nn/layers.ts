/**
 * Leaf modules: Conv2d, Linear, activations, pooling, padding, flatten. NHWC data.
 */
import * as tf from '@tensorflow/tfjs'
import { Module, type ModeArg } from './module'
import { uniform } from './init'

type Pair = [number, number]
const pair = (v: number | Pair): Pair => (typeof v === 'number' ? [v, v] : v)

export interface Conv2dOptions {
  stride?: number | Pair
  /** symmetric zero padding (PyTorch), or tfjs/Keras 'same' | 'valid' */
  padding?: number | Pair | 'same' | 'valid'
  /** 1 (dense) or inChannels (depthwise, outChannels = inChannels * multiplier) */
  groups?: number
  /** default true, as in PyTorch */
  bias?: boolean
}

/**
 * 2-D convolution. weight stored HWIO [kh, kw, in, out]; depthwise (groups = in) stored
 * [kh, kw, in, multiplier]. PyTorch layout OIHW (depthwise [in*mult, 1, kh, kw]) in the state dict.
 * Default init is PyTorch's (kaiming_uniform a=sqrt(5), i.e. U(+-1/sqrt(fan_in))).
 */
export class Conv2d extends Module {
  readonly kernelSize: Pair
  readonly stride: Pair
  readonly padding: 'same' | 'valid' | Pair
  readonly groups: number
  readonly depthwise: boolean
  readonly weight: tf.Variable
  readonly bias: tf.Variable | null

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: number | Pair, opts: Conv2dOptions = {}) {
    super()
    this.kernelSize = pair(kernelSize)
    this.stride = pair(opts.stride ?? 1)
    const p = opts.padding ?? 0
    this.padding = typeof p === 'string' ? p : pair(p)
    this.groups = opts.groups ?? 1
    this.depthwise = this.groups !== 1
    if (this.depthwise && (this.groups !== inChannels || outChannels % inChannels !== 0)) {
      throw new Error(`Conv2d: groups=${this.groups} unsupported (only 1 or in_channels=${inChannels} with out a multiple of in)`)
    }
    const [kh, kw] = this.kernelSize
    const fanIn = (inChannels / this.groups) * kh * kw
    const bound = 1 / Math.sqrt(fanIn)
    const shape = this.depthwise ? [kh, kw, inChannels, outChannels / inChannels] : [kh, kw, inChannels, outChannels]
    this.weight = this.registerParameter('weight', uniform(shape, bound))
    this.bias = (opts.bias ?? true) ? this.registerParameter('bias', uniform([outChannels], bound)) : null
  }

  /** the padding as tfjs takes it */
  padArg(): 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
    return typeof this.padding === 'string'
      ? this.padding
      : this.padding[0] === 0 && this.padding[1] === 0
        ? 'valid'
        : [[0, 0], [this.padding[0], this.padding[0]], [this.padding[1], this.padding[1]], [0, 0]]
  }

  forward(x: tf.Tensor, _mode?: ModeArg): tf.Tensor4D {
    return tf.tidy(() => {
      const x4 = x as tf.Tensor4D
      const pad = this.padArg()
      let y = this.depthwise
        ? tf.depthwiseConv2d(x4, this.weight as tf.Tensor4D, this.stride, pad as 'same' | 'valid')
        : tf.conv2d(x4, this.weight as tf.Tensor4D, this.stride, pad)
      if (this.bias) y = y.add(this.bias)
      return y
    })
  }

  protected override torchShape(name: string, s: readonly number[]): number[] {
    if (name !== 'weight') return [...s]
    return this.depthwise ? [s[2] * s[3], 1, s[0], s[1]] : [s[3], s[2], s[0], s[1]]
  }

  protected override exportTensor(name: string, v: tf.Tensor): tf.Tensor {
    if (name !== 'weight') return v
    if (!this.depthwise) return v.transpose([3, 2, 0, 1])
    const [kh, kw, c, m] = v.shape
    return v.transpose([2, 3, 0, 1]).reshape([c * m, 1, kh, kw])
  }

  protected override importTensor(name: string, v: tf.Tensor): tf.Tensor {
    if (name !== 'weight') return v
    if (!this.depthwise) return v.transpose([2, 3, 1, 0])
    const [cm, , kh, kw] = v.shape
    const c = this.inChannels
    return v.reshape([c, cm / c, kh, kw]).transpose([2, 3, 0, 1])
  }
}

/** Fully connected layer; weight stored [out, in] as in PyTorch. Default init U(+-1/sqrt(in)). */
export class Linear extends Module {
  readonly weight: tf.Variable
  readonly bias: tf.Variable | null

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean; init?: 'random' | 'zero' } = {}) {
    super()
    const bound = 1 / Math.sqrt(inFeatures)
    const zero = opts.init === 'zero'
    this.weight = this.registerParameter('weight', zero ? tf.zeros([outFeatures, inFeatures]) : uniform([outFeatures, inFeatures], bound))
    this.bias = opts.bias === false ? null : this.registerParameter('bias', zero ? tf.zeros([outFeatures]) : uniform([outFeatures], bound))
  }

  forward(x: tf.Tensor, _mode?: ModeArg): tf.Tensor2D {
    return tf.tidy(() => {
      if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
        throw new Error(`Linear(${this.inFeatures}, ${this.outFeatures}): expected input [N, ${this.inFeatures}], got [${x.shape}]`)
      }
      const y = tf.matMul(x as tf.Tensor2D, this.weight as tf.Tensor2D, false, true)
      return (this.bias ? y.add(this.bias) : y) as tf.Tensor2D
    })
  }
}

export class ReLU extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.relu(x)
  }
}

/** min(max(x, 0), 6) (Keras ReLU(max_value=6)) */
export class ReLU6 extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.relu6(x)
  }
}

export class Identity extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return x
  }
}

/** Max pooling; padded positions never win (as PyTorch's -inf padding). */
export class MaxPool2d extends Module {
  readonly kernelSize: Pair
  readonly stride: Pair
  constructor(kernelSize: number | Pair, stride?: number | Pair, readonly padding = 0) {
    super()
    this.kernelSize = pair(kernelSize)
    this.stride = pair(stride ?? kernelSize)
  }
  forward(x: tf.Tensor): tf.Tensor4D {
    return tf.maxPool(x as tf.Tensor4D, this.kernelSize, this.stride, this.padding === 0 ? 'valid' : this.padding)
  }
}

/**
 * mean over H and W, with the gradient dy / (H W) broadcast back to [N, H, W, C] in one Tile: tfjs's Mean gradient
 * builds a ones tensor of x's shape in JS, uploads it and runs a Multiply and a RealDiv over it (the same values:
 * dy * 1 / (H W)).
 */
const globalAvgPool = tf.customGrad(((x: tf.Tensor) => {
  const [n, h, w, c] = x.shape
  return {
    value: tf.mean(x, [1, 2]),
    gradFunc: (dy: tf.Tensor) => tf.broadcastTo(tf.reshape(tf.div(dy, h * w), [n, 1, 1, c]), [n, h, w, c]),
  }
}) as unknown as Parameters<typeof tf.customGrad>[0])

/** Global average pooling straight to [N, C] (PyTorch's AdaptiveAvgPool2d(1) + flatten; Keras GlobalAveragePooling2D). */
export class GlobalAvgPool2d extends Module {
  forward(x: tf.Tensor): tf.Tensor2D {
    if (x.rank !== 4) throw new Error(`GlobalAvgPool2d: expected an NHWC input, got [${x.shape}]`)
    return globalAvgPool(x) as tf.Tensor2D
  }
}

/** Flatten to [N, -1] in NHWC order (equals PyTorch's NCHW flatten only when H = W = 1). */
export class Flatten extends Module {
  forward(x: tf.Tensor): tf.Tensor2D {
    return x.reshape([x.shape[0], -1]) as tf.Tensor2D
  }
}

/** Zero padding [[top, bottom], [left, right]] (Keras ZeroPadding2D). */
export class ZeroPad2d extends Module {
  constructor(readonly pads: [Pair, Pair]) {
    super()
  }
  forward(x: tf.Tensor): tf.Tensor4D {
    return tf.pad(x as tf.Tensor4D, [[0, 0], this.pads[0], this.pads[1], [0, 0]])
  }
}
