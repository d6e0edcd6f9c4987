/** Containers: Sequential (children '0', '1', ... or given names) and ModuleList. */
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

/** Holds modules under '0', '1', ...; has no forward of its own. */
export class ModuleList extends Module {
  constructor(modules: Module[] = []) {
    super()
    modules.forEach((m) => this.push(m))
  }
  push(m: Module): this {
    this.registerModule(String(this.children().length), m)
    return this
  }
  get length(): number {
    return this.children().length
  }
  get(i: number): Module {
    const c = this.children()[i]
    if (!c) throw new Error(`ModuleList: index ${i} out of range (${this.length})`)
    return c[1]
  }
  [Symbol.iterator](): Iterator<Module> {
    return this.children().map(([, m]) => m)[Symbol.iterator]()
  }
  forward(): tf.Tensor {
    throw new Error('ModuleList has no forward; iterate over its modules')
  }
}
