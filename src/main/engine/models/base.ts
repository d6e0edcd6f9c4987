/** Shared plumbing of the BNNet implementations. */
import * as tf from '@tensorflow/tfjs'
import { BatchNorm2d, Linear, Module, withInitSeed, type ModeArg } from '../nn'
import type { ArchName, BNLayerInfo, BNNet, Preprocessing } from './types'

export abstract class BNNetBase extends Module implements BNNet {
  abstract readonly arch: ArchName
  abstract readonly preprocessing: Preprocessing
  abstract readonly featureDim: number
  abstract readonly headName: string
  abstract head: Linear
  abstract numClasses: number

  abstract features(x: tf.Tensor4D, mode: ModeArg): tf.Tensor2D

  /** Stage label of a BN layer from its name. */
  protected abstract stageOf(bnName: string): string

  /** Names of child modules that belong to the head (default: just the classifier). */
  protected headModuleNames(): string[] {
    return [this.headName]
  }

  forward(x: tf.Tensor4D, mode: ModeArg): tf.Tensor2D {
    return tf.tidy(() => this.head.forward(this.features(x, mode)))
  }

  private isHeadKey(name: string): boolean {
    return this.headModuleNames().some((h) => name === h || name.startsWith(`${h}.`))
  }

  backboneParameters(): tf.Variable[] {
    return this.namedParameters().filter(([n]) => !this.isHeadKey(n)).map(([, v]) => v)
  }

  headParameters(): tf.Variable[] {
    return this.namedParameters().filter(([n]) => this.isHeadKey(n)).map(([, v]) => v)
  }

  bnLayers(): BNLayerInfo[] {
    return this.namedModules()
      .filter(([, m]) => m instanceof BatchNorm2d)
      .map(([name, m]) => ({ name, stage: this.stageOf(name), bn: m as BatchNorm2d }))
  }

  replaceHead(numClasses: number, init: 'random' | 'zero', seed?: number): void {
    const head = withInitSeed(seed, () => new Linear(this.featureDim, numClasses, { init }))
    this.head = this.registerModule(this.headName, head)
    this.numClasses = numClasses
  }
}
