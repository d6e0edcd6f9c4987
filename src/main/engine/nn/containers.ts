/** Containers: Sequential (children '0', '1', ... or given names). */
import * as tf from '@tensorflow/tfjs'
import { Module, type ModeArg } from './module'

/** Runs its children in order; names are '0', '1', ... as in PyTorch unless given. */
export class Sequential extends Module {
  constructor(...modules: Module[]) {
    super()
    modules.forEach((m, i) => this.registerModule(String(i), m))
  }

  /** A Sequential with explicit child names (like PyTorch's OrderedDict form). */
  static named(entries: [string, Module][]): Sequential {
    const s = new Sequential()
    for (const [n, m] of entries) s.add(n, m)
    return s
  }

  add(name: string, m: Module): this {
    this.registerModule(name, m)
    return this
  }

  get length(): number {
    return this.children().length
  }

  get(i: number): Module {
    const c = this.children()[i]
    if (!c) throw new Error(`Sequential: index ${i} out of range (${this.length})`)
    return c[1]
  }

  forward(x: tf.Tensor, mode: ModeArg): tf.Tensor {
    let y = x
    for (const [, m] of this.children()) {
      const next = m.forward(y, mode)
      if (y !== x && y !== next) y.dispose()
      y = next
    }
    return y
  }
}

