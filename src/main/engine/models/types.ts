/** The common interface of every BatchNorm network the engine fine-tunes. */
import type * as tf from '@tensorflow/tfjs'
import type { BatchNorm2d, LoadStateDictOptions, LoadStateDictResult, ModeArg } from '../nn'
import type { Linear } from '../nn'
import type { StateDict } from '../io/types'

export type CifarResNetArch = 'resnet8' | 'resnet20' | 'resnet32' | 'resnet44' | 'resnet56'
export type TorchvisionResNetArch = 'resnet18' | 'resnet34' | 'resnet50'
export type ArchName = CifarResNetArch | TorchvisionResNetArch | 'mobilenetv2'

/** One BN layer: PyTorch/Keras name ('layer1.0.bn1', 'block_3_expand_BN'), stage ('stem', 'stage 1', ..., 'head'). */
export interface BNLayerInfo {
  name: string
  stage: string
  bn: BatchNorm2d
}

/** How inputs must be prepared: RGB scaled to `range`, then (x - mean) / std per channel if given. */
export interface Preprocessing {
  inputSize: [number, number]
  range: [number, number]
  mean?: [number, number, number]
  std?: [number, number, number]
}

export interface BNNet {
  readonly arch: ArchName
  readonly numClasses: number
  /** width of the penultimate (pooled) features */
  readonly featureDim: number
  readonly preprocessing: Preprocessing
  /** the final classifier (PyTorch name: `linear` for CIFAR ResNets, `fc` for torchvision) */
  readonly head: Linear
  /** name prefix of the head's parameters in namedParameters()/stateDict() */
  readonly headName: string
  /** penultimate pooled features [N, featureDim] of NHWC images */
  features(x: tf.Tensor4D, mode: ModeArg): tf.Tensor2D
  /** logits [N, numClasses] */
  forward(x: tf.Tensor4D, mode: ModeArg): tf.Tensor2D
  backboneParameters(): tf.Variable[]
  headParameters(): tf.Variable[]
  namedParameters(): [string, tf.Variable][]
  namedBuffers(): [string, tf.Variable][]
  /** every BatchNorm2d in forward order */
  bnLayers(): BNLayerInfo[]
  /** new classifier Linear(featureDim, numClasses) on the features ('zero' = weight and bias 0,
   *  'random' = PyTorch's default Linear init, reproducible with `seed`); the old head (and any
   *  hidden Dense layers after the pooling, as in the Teachable Machine MobileNetV2) is disposed */
  replaceHead(numClasses: number, init: 'random' | 'zero', seed?: number): void
  /** host tensors, PyTorch names and layouts */
  stateDict(): StateDict
  loadStateDict(sd: StateDict, opts?: LoadStateDictOptions): LoadStateDictResult
  dispose(): void
}
