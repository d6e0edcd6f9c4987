/**
 * CIFAR ResNet-20/32/44/56 (He et al. 2016, CIFAR variant; keys as in Y. Idelbayev's checkpoints):
 * conv1/bn1 stem (16 ch), layer1..3 of BasicBlocks (16/32/64 ch, n = (depth - 2) / 6 blocks each),
 * option-A shortcuts (x[:, ::2, ::2, :] zero-padded with planes/4 channels each side), global
 * average pool, `linear` 64 -> classes. Init as in that repo (kaiming_normal_ on conv and linear).
 */
import * as tf from '@tensorflow/tfjs'
import { BatchNorm2d, Conv2d, GlobalAvgPool2d, convBn, Linear, Module, Sequential, kaimingNormal, withInitSeed, type ModeArg } from '../nn'
import { BNNetBase } from './base'
import type { CifarResNetArch, Preprocessing } from './types'

export const CIFAR_RESNET_DEPTHS: Record<CifarResNetArch, number> = { resnet8: 8, resnet20: 20, resnet32: 32, resnet44: 44, resnet56: 56 }

export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406]
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225]

/** Parameter-free "option A" shortcut: stride-2 subsampling and zero channel padding. */
export class OptionAShortcut extends Module {
  constructor(readonly padEachSide: number) {
    super()
  }
  forward(x: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() => {
      const x4 = x as tf.Tensor4D
      const [n, h, w, c] = x4.shape
      const sub = tf.stridedSlice(x4, [0, 0, 0, 0], [n, h, w, c], [1, 2, 2, 1]) as tf.Tensor4D
      return tf.pad(sub, [[0, 0], [0, 0], [0, 0], [this.padEachSide, this.padEachSide]])
    })
  }
}

export class CifarBasicBlock extends Module {
  readonly conv1: Conv2d
  readonly bn1: BatchNorm2d
  readonly conv2: Conv2d
  readonly bn2: BatchNorm2d
  readonly shortcut: OptionAShortcut | null

  constructor(inPlanes: number, planes: number, stride: number) {
    super()
    this.conv1 = this.registerModule('conv1', kaimingConv(inPlanes, planes, stride))
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes))
    this.conv2 = this.registerModule('conv2', kaimingConv(planes, planes, 1))
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes))
    this.shortcut = stride !== 1 || inPlanes !== planes ? this.registerModule('shortcut', new OptionAShortcut(planes / 4)) : null
  }

  forward(x: tf.Tensor, mode: ModeArg): tf.Tensor4D {
    return tf.tidy(() => {
      const out = convBn(this.conv1, this.bn1, x, mode, 'relu')
      const sc = this.shortcut ? this.shortcut.forward(x) : x
      // relu(bn2(conv2(out)) + sc): in training one kernel each way for BN, the add and the ReLU (convBn)
      return convBn(this.conv2, this.bn2, out, mode, 'relu', sc)
    })
  }
}

function kaimingConv(inC: number, outC: number, stride: number): Conv2d {
  const conv = new Conv2d(inC, outC, 3, { stride, padding: 1, bias: false })
  const w = kaimingNormal(conv.weight.shape, inC * 9)
  conv.weight.assign(w)
  w.dispose()
  return conv
}

export class CifarResNet extends BNNetBase {
  readonly arch: CifarResNetArch
  readonly featureDim = 64
  readonly headName = 'linear'
  readonly preprocessing: Preprocessing = { inputSize: [32, 32], range: [0, 1], mean: IMAGENET_MEAN, std: IMAGENET_STD }
  head: Linear
  numClasses: number
  readonly conv1: Conv2d
  readonly bn1: BatchNorm2d
  readonly layers: Sequential[]
  private readonly pool = new GlobalAvgPool2d()

  constructor(arch: CifarResNetArch, numClasses = 10, opts: { seed?: number } = {}) {
    super()
    const depth = CIFAR_RESNET_DEPTHS[arch]
    if (!depth) throw new Error(`CifarResNet: unknown architecture '${arch}'`)
    this.arch = arch
    this.numClasses = numClasses
    const n = (depth - 2) / 6
    const built = withInitSeed(opts.seed, () => {
      const conv1 = this.registerModule('conv1', kaimingConv(3, 16, 1))
      const bn1 = this.registerModule('bn1', new BatchNorm2d(16))
      const layers: Sequential[] = []
      let inPlanes = 16
      ;[16, 32, 64].forEach((planes, s) => {
        const blocks: Module[] = []
        for (let i = 0; i < n; i++) {
          blocks.push(new CifarBasicBlock(inPlanes, planes, i === 0 && s > 0 ? 2 : 1))
          inPlanes = planes
        }
        layers.push(this.registerModule(`layer${s + 1}`, new Sequential(...blocks)))
      })
      const head = new Linear(64, numClasses)
      const w = kaimingNormal(head.weight.shape, 64)
      head.weight.assign(w)
      w.dispose()
      return { conv1, bn1, layers, head: this.registerModule('linear', head) }
    })
    this.conv1 = built.conv1
    this.bn1 = built.bn1
    this.layers = built.layers
    this.head = built.head
  }

  features(x: tf.Tensor4D, mode: ModeArg): tf.Tensor2D {
    return tf.tidy(() => {
      let y: tf.Tensor = convBn(this.conv1, this.bn1, x, mode, 'relu')
      for (const layer of this.layers) y = layer.forward(y, mode)
      return this.pool.forward(y)
    })
  }

  protected stageOf(bnName: string): string {
    const m = /^layer(\d+)\./.exec(bnName)
    return m ? `stage ${m[1]}` : 'stem'
  }
}
