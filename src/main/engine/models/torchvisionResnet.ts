/**
 * torchvision ResNet-18/34/50 (BasicBlock / Bottleneck v1.5 with the stride on conv2), keys as
 * torchvision: conv1, bn1, layer1..4.{i}.conv{1,2,3}/bn{1,2,3}, downsample.0 (1x1 conv) /
 * downsample.1 (BN), fc. Init as torchvision: kaiming_normal_(fan_out, relu) for convs, BN 1/0,
 * fc PyTorch default.
 */
import * as tf from '@tensorflow/tfjs'
import { BatchNorm2d, Conv2d, GlobalAvgPool2d, Linear, convBn, MaxPool2d, Module, Sequential, kaimingNormal, withInitSeed, type ModeArg } from '../nn'
import { BNNetBase } from './base'
import { IMAGENET_MEAN, IMAGENET_STD } from './cifarResnet'
import type { Preprocessing, TorchvisionResNetArch } from './types'

function conv(inC: number, outC: number, k: number, stride: number): Conv2d {
  const c = new Conv2d(inC, outC, k, { stride, padding: (k - 1) / 2, bias: false })
  const w = kaimingNormal(c.weight.shape, outC * k * k)
  c.weight.assign(w)
  w.dispose()
  return c
}

function downsample(inC: number, outC: number, stride: number): Sequential | null {
  return stride !== 1 || inC !== outC ? new Sequential(conv(inC, outC, 1, stride), new BatchNorm2d(outC)) : null
}

export class BasicBlock extends Module {
  static readonly expansion = 1
  readonly conv1: Conv2d
  readonly bn1: BatchNorm2d
  readonly conv2: Conv2d
  readonly bn2: BatchNorm2d
  readonly downsample: Sequential | null
  constructor(inPlanes: number, planes: number, stride: number) {
    super()
    this.conv1 = this.registerModule('conv1', conv(inPlanes, planes, 3, stride))
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes))
    this.conv2 = this.registerModule('conv2', conv(planes, planes, 3, 1))
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes))
    const ds = downsample(inPlanes, planes, stride)
    this.downsample = ds ? this.registerModule('downsample', ds) : null
  }
  forward(x: tf.Tensor, mode: ModeArg): tf.Tensor4D {
    return tf.tidy(() => {
      const out = convBn(this.conv1, this.bn1, x, mode, 'relu')
      const id = this.downsample ? this.downsample.forward(x, mode) : x
      // relu(bn2(conv2(out)) + id): in training one kernel each way for BN, the add and the ReLU (convBn)
      return convBn(this.conv2, this.bn2, out, mode, 'relu', id)
    })
  }
}

export class Bottleneck extends Module {
  static readonly expansion = 4
  readonly conv1: Conv2d
  readonly bn1: BatchNorm2d
  readonly conv2: Conv2d
  readonly bn2: BatchNorm2d
  readonly conv3: Conv2d
  readonly bn3: BatchNorm2d
  readonly downsample: Sequential | null
  constructor(inPlanes: number, planes: number, stride: number) {
    super()
    const out = planes * 4
    this.conv1 = this.registerModule('conv1', conv(inPlanes, planes, 1, 1))
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes))
    this.conv2 = this.registerModule('conv2', conv(planes, planes, 3, stride))
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes))
    this.conv3 = this.registerModule('conv3', conv(planes, out, 1, 1))
    this.bn3 = this.registerModule('bn3', new BatchNorm2d(out))
    const ds = downsample(inPlanes, out, stride)
    this.downsample = ds ? this.registerModule('downsample', ds) : null
  }
  forward(x: tf.Tensor, mode: ModeArg): tf.Tensor4D {
    return tf.tidy(() => {
      let out = convBn(this.conv1, this.bn1, x, mode, 'relu')
      out = convBn(this.conv2, this.bn2, out, mode, 'relu')
      const id = this.downsample ? this.downsample.forward(x, mode) : x
      return convBn(this.conv3, this.bn3, out, mode, 'relu', id)
    })
  }
}

export const TORCHVISION_RESNETS: Record<TorchvisionResNetArch, { block: 'basic' | 'bottleneck'; layers: number[] }> = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2] },
  resnet34: { block: 'basic', layers: [3, 4, 6, 3] },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3] },
}

export class TorchvisionResNet extends BNNetBase {
  readonly arch: TorchvisionResNetArch
  readonly featureDim: number
  readonly headName = 'fc'
  readonly preprocessing: Preprocessing = { inputSize: [224, 224], range: [0, 1], mean: IMAGENET_MEAN, std: IMAGENET_STD }
  head: Linear
  numClasses: number
  readonly conv1: Conv2d
  readonly bn1: BatchNorm2d
  readonly layers: Sequential[] = []
  private readonly maxpool = new MaxPool2d(3, 2, 1)
  private readonly pool = new GlobalAvgPool2d()

  constructor(arch: TorchvisionResNetArch, numClasses = 1000, opts: { seed?: number } = {}) {
    super()
    const spec = TORCHVISION_RESNETS[arch]
    if (!spec) throw new Error(`TorchvisionResNet: unknown architecture '${arch}'`)
    this.arch = arch
    this.numClasses = numClasses
    const expansion = spec.block === 'basic' ? 1 : 4
    this.featureDim = 512 * expansion
    const built = withInitSeed(opts.seed, () => {
      const conv1 = this.registerModule('conv1', conv(3, 64, 7, 2))
      const bn1 = this.registerModule('bn1', new BatchNorm2d(64))
      let inPlanes = 64
      const layers: Sequential[] = []
      ;[64, 128, 256, 512].forEach((planes, s) => {
        const blocks: Module[] = []
        for (let i = 0; i < spec.layers[s]; i++) {
          const stride = i === 0 && s > 0 ? 2 : 1
          blocks.push(spec.block === 'basic' ? new BasicBlock(inPlanes, planes, stride) : new Bottleneck(inPlanes, planes, stride))
          inPlanes = planes * expansion
        }
        layers.push(this.registerModule(`layer${s + 1}`, new Sequential(...blocks)))
      })
      const head = this.registerModule('fc', new Linear(this.featureDim, numClasses))
      return { conv1, bn1, layers, head }
    })
    this.conv1 = built.conv1
    this.bn1 = built.bn1
    this.layers = built.layers
    this.head = built.head
  }

  features(x: tf.Tensor4D, mode: ModeArg): tf.Tensor2D {
    return tf.tidy(() => {
      let y: tf.Tensor = convBn(this.conv1, this.bn1, x, mode, 'relu')
      y = this.maxpool.forward(y)
      for (const layer of this.layers) y = layer.forward(y, mode)
      return this.pool.forward(y)
    })
  }

  protected stageOf(bnName: string): string {
    const m = /^layer(\d+)\./.exec(bnName)
    return m ? `stage ${m[1]}` : 'stem'
  }
}
