/**
 * A small PyTorch-like module layer over tfjs.
 *
 * Conventions (read these before using the API):
 * - Activations are NHWC inside (tfjs native). Conv weights are stored HWIO ([kh, kw, in, out]);
 *   depthwise weights in the tfjs layout [kh, kw, in, multiplier]. Linear weights are stored as
 *   PyTorch does, [out, in]. `stateDict()` / `loadStateDict()` speak PyTorch layouts (OIHW, [out, in]).
 * - Parameters are trainable tf.Variables, buffers (BN running stats) non-trainable tf.Variables.
 *   Variables are created unnamed, so any number of models can coexist. NOTE: tf.variableGrads(f)
 *   without a varList differentiates EVERY trainable variable alive in the engine: always pass the
 *   list you mean (e.g. `model.headParameters()`).
 * - The BatchNorm mode is chosen PER CALL: `forward(x, 'train' | 'eval' | 'frozen')` or
 *   `forward(x, { bn: 'train', statUpdates })`; a module holds no train/eval flag.
 * - Running statistics in 'train' mode: if `statUpdates` is given, every BatchNorm2d pushes a
 *   pending update (kept tensors) into it and changes nothing; the caller applies them after the
 *   optimiser step with `applyBatchNormUpdates(list)` (or drops them with `disposeBatchNormUpdates`).
 *   Without `statUpdates`, BN assigns the new running stats immediately. Both are safe inside
 *   tf.variableGrads: running stats never feed the train-mode output, and the assigned values are
 *   owned by the buffer variables, so the surrounding tidy does not free them.
 */
import * as tf from '@tensorflow/tfjs'
import type { HostTensor, StateDict } from '../io/types'

/**
 * What the forward hooks see of a BatchNorm2d (nn/batchnorm.ts implements it). Structural, so that this file
 * does not import batchnorm.ts, which extends Module (no import cycle).
 */
export interface BatchNormLayer {
  readonly numFeatures: number
  readonly eps: number
  momentum: number
  readonly runningMean: tf.Variable
  readonly runningVar: tf.Variable
  updateRunningStats(batchMean: tf.Tensor1D, batchVarUnbiased: tf.Tensor1D): void
}

/** 'train': batch statistics + running-stat update; 'eval': running statistics;
 *  'frozen': running statistics, never updated, gamma/beta still trainable (LP-FT's BN test mode).
 *  'eval' and 'frozen' compute the same function; 'frozen' records the intent during training. */
export type BNMode = 'train' | 'eval' | 'frozen'

/** A pending running-statistics update produced by a BatchNorm2d in 'train' mode. */
export interface BatchNormUpdate {
  bn: BatchNormLayer
  /** batch channel mean (kept tensor, owned by the update) */
  mean: tf.Tensor1D
  /** batch channel variance, biased (kept tensor); running_var takes it times `unbias` = n / (n - 1), as PyTorch */
  variance: tf.Tensor1D
  unbias: number
}

export interface ForwardOptions {
  bn: BNMode
  /** train mode only: collect pending running-stat updates here instead of assigning them */
  statUpdates?: BatchNormUpdate[]
  /** called by every BatchNorm2d with its NHWC input before normalising (any mode).
   *  The input may be freed by a surrounding tidy: read or tf.keep what you need. */
  onBatchNormInput?: (bn: BatchNormLayer, input: tf.Tensor4D) => void
}

export type ModeArg = BNMode | ForwardOptions

export function toForwardOptions(mode: ModeArg): ForwardOptions {
  return typeof mode === 'string' ? { bn: mode } : mode
}

export interface LoadStateDictOptions {
  /** default true: throw (before changing anything) if keys are missing or unexpected */
  strict?: boolean
  /** a file name or other origin, put in front of every error message */
  source?: string
}

export interface LoadStateDictResult {
  missing: string[]
  unexpected: string[]
}

/** Copy a tfjs tensor to a host tensor (float32). */
export function toHost(t: tf.Tensor): HostTensor {
  return { shape: [...t.shape], dtype: 'float32', data: Float32Array.from(t.dataSync() as Float32Array) }
}

/** Make a float32 tfjs tensor from a host tensor. */
export function fromHost(h: HostTensor): tf.Tensor {
  const data = h.data instanceof Float32Array ? h.data : Float32Array.from(h.data)
  return tf.tensor(data, h.shape, 'float32')
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i])
}

/** Base class: a tree of named parameters, buffers and child modules (PyTorch naming and order). */
export abstract class Module {
  private readonly _parameters = new Map<string, tf.Variable>()
  private readonly _buffers = new Map<string, tf.Variable>()
  private readonly _modules = new Map<string, Module>()

  /** Register a trainable parameter; takes ownership of (and disposes) `value`. */
  protected registerParameter(name: string, value: tf.Tensor): tf.Variable {
    const v = tf.variable(value, true)
    value.dispose()
    this._parameters.get(name)?.dispose()
    this._parameters.set(name, v)
    return v
  }

  /** Register a non-trainable buffer (e.g. running_mean); takes ownership of `value`. */
  protected registerBuffer(name: string, value: tf.Tensor): tf.Variable {
    const v = tf.variable(value, false)
    value.dispose()
    this._buffers.get(name)?.dispose()
    this._buffers.set(name, v)
    return v
  }

  /** Register (or replace, disposing the old one) a child module. */
  protected registerModule<M extends Module>(name: string, module: M): M {
    const old = this._modules.get(name)
    if (old && old !== module) old.dispose()
    this._modules.set(name, module)
    return module
  }

  /** Remove (and dispose) a child module. */
  protected removeModule(name: string): void {
    const m = this._modules.get(name)
    if (m) {
      m.dispose()
      this._modules.delete(name)
    }
  }

  /** Keys of this module's own state accepted by loadStateDict but not stored (e.g. num_batches_tracked). */
  protected ignoredKeys(): readonly string[] {
    return []
  }

  /** Convert an own tensor to PyTorch layout (default: identity). Runs inside tidy. */
  protected exportTensor(_name: string, value: tf.Tensor): tf.Tensor {
    return value
  }

  /** Convert an own tensor from PyTorch layout (default: identity). Runs inside tidy. */
  protected importTensor(_name: string, value: tf.Tensor): tf.Tensor {
    return value
  }

  /** The PyTorch shape of an own tensor. */
  protected torchShape(name: string, stored: readonly number[]): number[] {
    void name
    return [...stored]
  }

  /** Direct children in registration order. */
  children(): [string, Module][] {
    return [...this._modules.entries()]
  }

  /** This module and all descendants, preorder, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]]
    for (const [n, m] of this._modules) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n))
    return out
  }

  /** All parameters with dotted PyTorch names, e.g. `layer1.0.bn1.weight`. */
  namedParameters(prefix = ''): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = []
    for (const [p, m] of this.namedModules(prefix)) {
      for (const [n, v] of m._parameters) out.push([p ? `${p}.${n}` : n, v])
    }
    return out
  }

  parameters(): tf.Variable[] {
    return this.namedParameters().map(([, v]) => v)
  }

  /** All buffers with dotted PyTorch names, e.g. `layer1.0.bn1.running_mean`. */
  namedBuffers(prefix = ''): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = []
    for (const [p, m] of this.namedModules(prefix)) {
      for (const [n, v] of m._buffers) out.push([p ? `${p}.${n}` : n, v])
    }
    return out
  }

  /** Own tensors (parameters then buffers), as PyTorch's state_dict orders them. */
  private ownState(): [string, tf.Variable][] {
    return [...this._parameters.entries(), ...this._buffers.entries()]
  }

  /** Host copy of every parameter and buffer, PyTorch names and layouts (for safetensors export). */
  stateDict(): StateDict {
    const sd: StateDict = new Map()
    for (const [p, m] of this.namedModules()) {
      for (const [n, v] of m.ownState()) {
        const t = tf.tidy(() => m.exportTensor(n, v).clone())
        sd.set(p ? `${p}.${n}` : n, toHost(t))
        t.dispose()
      }
    }
    return sd
  }

  /**
   * Load PyTorch-layout tensors by PyTorch name. Shape mismatches always throw (naming key and
   * shapes); with strict (default) missing/unexpected keys throw too, before anything is changed.
   */
  loadStateDict(sd: StateDict, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = opts.strict ?? true
    const where = opts.source ? `${opts.source}: ` : ''
    const targets: { key: string; module: Module; name: string; v: tf.Variable }[] = []
    const known = new Set<string>()
    for (const [p, m] of this.namedModules()) {
      for (const [n, v] of m.ownState()) {
        const key = p ? `${p}.${n}` : n
        targets.push({ key, module: m, name: n, v })
        known.add(key)
      }
      for (const n of m.ignoredKeys()) known.add(p ? `${p}.${n}` : n)
    }
    const missing = targets.filter((t) => !sd.has(t.key)).map((t) => t.key)
    const unexpected = [...sd.keys()].filter((k) => !known.has(k))
    if (strict && (missing.length || unexpected.length)) {
      const list = (a: string[]): string => a.slice(0, 8).join(', ') + (a.length > 8 ? `, ... (${a.length})` : '')
      throw new Error(
        `${where}state dict does not match the model` +
          (missing.length ? `; missing keys: ${list(missing)}` : '') +
          (unexpected.length ? `; unexpected keys: ${list(unexpected)}` : ''),
      )
    }
    for (const t of targets) {
      const h = sd.get(t.key)
      if (!h) continue
      const want = t.module.torchShape(t.name, t.v.shape)
      if (!sameShape(h.shape, want)) {
        throw new Error(`${where}${t.key}: shape [${h.shape}] in state dict does not match the model's [${want}]`)
      }
    }
    for (const t of targets) {
      const h = sd.get(t.key)
      if (!h) continue
      const value = tf.tidy(() => t.module.importTensor(t.name, fromHost(h)))
      t.v.assign(value)
      value.dispose()
    }
    return { missing, unexpected }
  }

  /** Run the module. `mode` selects the BatchNorm behaviour for this call only. */
  abstract forward(x: tf.Tensor, mode: ModeArg): tf.Tensor

  /** Free every variable of this module and its children. */
  dispose(): void {
    for (const v of this._parameters.values()) v.dispose()
    for (const v of this._buffers.values()) v.dispose()
    for (const m of this._modules.values()) m.dispose()
    this._parameters.clear()
    this._buffers.clear()
    this._modules.clear()
  }
}
