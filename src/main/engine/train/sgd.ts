/**
 * SGD with parameter groups, PyTorch semantics (torch.optim.SGD, dampening 0, no Nesterov):
 *   d_p = g + weight_decay * p
 *   buf = d_p                      (first step of this parameter)
 *   buf = momentum * buf + d_p     (later steps)
 *   p  -= lr * buf
 * Each group has its own lr (DAFT: backbone eta_theta, head eta_w). Momentum buffers are tensors owned
 * by the optimiser; `stateDict()` exports them as host arrays keyed by PyTorch parameter name.
 * On wasm with the native addon, one addon call updates every parameter (each to a new tensor, as the ops below) and
 * momentum buffer (in place) (kernels/native.ts, nativeSgdStep: the same float32 arithmetic); elsewhere, and for a
 * buffer whose data another tensor shares, tfjs ops.
 */
import * as tf from '@tensorflow/tfjs'
import { type NativeSgdItem, nativeSgdAccepts, nativeSgdStep } from '../kernels/native'

export interface ParamGroupSpec {
  /** e.g. 'backbone' | 'head' */
  name: string
  /** [PyTorch name, variable] pairs, as Module.namedParameters() gives them */
  params: [string, tf.Variable][]
  lr: number
  /** overrides the optimiser-wide weight decay */
  weightDecay?: number
}

export interface ParamGroup {
  readonly name: string
  readonly params: readonly [string, tf.Variable][]
  lr: number
  weightDecay: number
}

export interface SGDOptions {
  /** default 0.9 (the paper's value; PyTorch's default is 0) */
  momentum?: number
  /** default 0 */
  weightDecay?: number
}

/** Host copy of the optimiser state (JSON-able apart from the Float32Arrays). */
export interface SGDState {
  momentum: number
  /** optimiser steps taken */
  steps: number
  groups: { name: string; lr: number; weightDecay: number }[]
  /** momentum buffers by PyTorch parameter name; absent until the parameter's first step */
  buffers: Record<string, { shape: number[]; data: Float32Array }>
}

export class SGD {
  readonly groups: ParamGroup[]
  readonly momentum: number
  steps = 0
  /** keyed by tf variable name */
  private readonly buffers = new Map<string, tf.Tensor>()
  /** tf variable name -> [group, PyTorch name, variable] */
  private readonly byVar = new Map<string, { group: ParamGroup; name: string; v: tf.Variable }>()

  constructor(groups: ParamGroupSpec[], opts: SGDOptions = {}) {
    this.momentum = opts.momentum ?? 0.9
    if (!(this.momentum >= 0 && this.momentum < 1)) throw new Error(`SGD: momentum must be in [0, 1) (got ${this.momentum})`)
    const wd = opts.weightDecay ?? 0
    const seen = new Set<string>()
    this.groups = groups.map((g) => {
      if (!(Number.isFinite(g.lr) && g.lr >= 0)) throw new Error(`SGD: group '${g.name}' lr must be a finite number >= 0 (got ${g.lr})`)
      const group: ParamGroup = { name: g.name, params: g.params, lr: g.lr, weightDecay: g.weightDecay ?? wd }
      if (!(group.weightDecay >= 0)) throw new Error(`SGD: group '${g.name}' weight decay must be >= 0 (got ${group.weightDecay})`)
      for (const [name, v] of g.params) {
        if (seen.has(name)) throw new Error(`SGD: parameter '${name}' appears in more than one group`)
        if (!v.trainable) throw new Error(`SGD: '${name}' is not a trainable variable`)
        seen.add(name)
        this.byVar.set(v.name, { group, name, v })
      }
      return group
    })
  }

  /** The variables to differentiate (pass to tf.variableGrads). */
  variables(): tf.Variable[] {
    return this.groups.flatMap((g) => g.params.map(([, v]) => v))
  }

  group(name: string): ParamGroup {
    const g = this.groups.find((x) => x.name === name)
    if (!g) throw new Error(`SGD: no parameter group '${name}' (have ${this.groups.map((x) => x.name).join(', ')})`)
    return g
  }

  setLr(groupName: string, lr: number): void {
    if (!(Number.isFinite(lr) && lr >= 0)) throw new Error(`SGD: lr must be a finite number >= 0 (got ${lr})`)
    this.group(groupName).lr = lr
  }

  /**
   * One update. `grads` is keyed by tf variable name, as tf.variableGrads returns it; parameters
   * without a gradient are left alone (PyTorch: p.grad is None). The gradients are not disposed.
   */
  step(grads: tf.NamedTensorMap): void {
    const fused: NativeSgdItem[] = []
    const fusedKeys: string[] = []
    const created: tf.Tensor[] = []
    const rest: string[] = []
    for (const key of Object.keys(grads)) {
      const entry = this.byVar.get(key)
      if (!entry) throw new Error(`SGD: gradient for a variable that is in no group (${key})`)
      const { name, v } = entry
      const g = grads[key]
      if (!g.shape.every((d, i) => d === v.shape[i]) || g.rank !== v.rank) {
        throw new Error(`SGD: gradient of '${name}' has shape [${g.shape}], parameter has [${v.shape}]`)
      }
      if (nativeSgdAccepts(v, g, this.momentum !== 0 ? this.buffers.get(key) : undefined)) {
        fused.push({ param: v, grad: g, buffer: null, first: false, lr: entry.group.lr, weightDecay: entry.group.weightDecay })
        fusedKeys.push(key)
      } else rest.push(key)
    }
    // on wasm with the addon: every accepted parameter in one native call (same arithmetic as below)
    if (fused.length) {
      if (this.momentum !== 0) {
        fused.forEach((it, i) => {
          const key = fusedKeys[i]
          let buf = this.buffers.get(key)
          if (!buf) {
            buf = tf.zeros(it.param.shape)
            created.push(buf)
            this.buffers.set(key, buf)
            it.first = true
          }
          it.buffer = buf
        })
      }
      try {
        nativeSgdStep(fused, this.momentum)
      } catch (e) {
        fused.forEach((it, i) => {
          if (it.first) this.buffers.delete(fusedKeys[i])
        })
        tf.dispose(created)
        throw e
      }
    }
    for (const key of rest) {
      const { group, v } = this.byVar.get(key)!
      const g = grads[key]
      const old = this.buffers.get(key)
      const buf = tf.tidy(() => {
        let d: tf.Tensor = g
        if (group.weightDecay !== 0) d = d.add(v.mul(group.weightDecay))
        let b: tf.Tensor = d
        if (this.momentum !== 0) b = old ? old.mul(this.momentum).add(d) : d.clone()
        v.assign(v.sub(b.mul(group.lr)))
        return this.momentum !== 0 ? b : undefined
      })
      old?.dispose()
      if (buf) this.buffers.set(key, buf)
    }
    this.steps++
  }

  /** Host copy of the state, for checkpoints. */
  stateDict(): SGDState {
    const buffers: SGDState['buffers'] = {}
    for (const [key, t] of this.buffers) {
      const entry = this.byVar.get(key)!
      buffers[entry.name] = { shape: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) }
    }
    return {
      momentum: this.momentum,
      steps: this.steps,
      groups: this.groups.map((g) => ({ name: g.name, lr: g.lr, weightDecay: g.weightDecay })),
      buffers,
    }
  }

  /** Restore a state written by stateDict(); names must match this optimiser's parameters. */
  loadStateDict(state: SGDState, source = 'optimizer state'): void {
    if (state.momentum !== this.momentum) throw new Error(`${source}: momentum ${state.momentum} differs from the optimiser's ${this.momentum}`)
    const byName = new Map([...this.byVar.values()].map((e) => [e.name, e]))
    for (const [name, b] of Object.entries(state.buffers)) {
      const e = byName.get(name)
      if (!e) throw new Error(`${source}: momentum buffer for unknown parameter '${name}'`)
      const n = b.shape.reduce((a, c) => a * c, 1)
      if (b.shape.length !== e.v.rank || b.shape.some((d, i) => d !== e.v.shape[i]) || b.data.length !== n) {
        throw new Error(`${source}: momentum buffer '${name}' has shape [${b.shape}] (${b.data.length} values), parameter has [${e.v.shape}]`)
      }
    }
    for (const g of state.groups) {
      const mine = this.groups.find((x) => x.name === g.name)
      if (!mine) throw new Error(`${source}: unknown parameter group '${g.name}'`)
      mine.lr = g.lr
      mine.weightDecay = g.weightDecay
    }
    for (const t of this.buffers.values()) t.dispose()
    this.buffers.clear()
    for (const [name, b] of Object.entries(state.buffers)) {
      const e = byName.get(name)!
      this.buffers.set(e.v.name, tf.tensor(b.data, b.shape, 'float32'))
    }
    this.steps = state.steps
  }

  /** Free the momentum buffers (the parameters belong to the model). */
  dispose(): void {
    for (const t of this.buffers.values()) t.dispose()
    this.buffers.clear()
  }
}
