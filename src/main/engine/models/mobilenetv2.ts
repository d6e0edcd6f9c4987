/**
 * MobileNetV2 (or any similar Keras CNN) built from a TF.js LAYERS `model.json` topology, e.g. the
 * Teachable Machine export in /work/shared/data/models/mobilenetv2-tm. Supported Keras layers:
 * InputLayer, ZeroPadding2D, Conv2D, DepthwiseConv2D, BatchNormalization, ReLU (max_value),
 * Activation(relu/relu6/linear), Add, GlobalAveragePooling2D, Dense, Dropout, nested Sequential/Model.
 * Every module is named by its Keras layer name (BN layers: 'bn_Conv1', 'block_3_expand_BN', ...);
 * Keras BN momentum k becomes PyTorch momentum 1 - k. Everything after the global pooling is the
 * head: hidden Dense layers (the "neck", kept with their activation) and the final Dense = `head`,
 * whose softmax is dropped (forward returns logits).
 */
import * as tf from '@tensorflow/tfjs'
import { BatchNorm2d, Conv2d, GlobalAvgPool2d, Linear, Module, ReLU, ReLU6, ZeroPad2d, Identity, type ModeArg } from '../nn'
import { BNNetBase } from './base'
import type { StateDict } from '../io/types'
import type { Preprocessing } from './types'

interface KerasLayer {
  class_name: string
  name?: string
  config: Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  inbound_nodes?: unknown[]
}

interface GraphNode {
  name: string
  className: string
  config: Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  inputs: string[]
}

/** Flatten nested Sequential / functional Model configs into one topologically ordered node list. */
export function flattenKerasTopology(topology: unknown, source = 'model.json'): { nodes: GraphNode[]; output: string } {
  const nodes: GraphNode[] = []
  const root = (topology as { model_config?: unknown })?.model_config ?? topology
  const walk = (layer: KerasLayer, input: string | null): string => {
    const cfg = layer.config ?? {}
    if (layer.class_name === 'Sequential') {
      const layers: KerasLayer[] = Array.isArray(cfg) ? cfg : cfg.layers
      let cur = input
      for (const l of layers) cur = walk(l, cur)
      if (cur === null) throw new Error(`${source}: empty Sequential '${cfg.name}'`)
      return cur
    }
    if (layer.class_name === 'Model' || layer.class_name === 'Functional') {
      const rename = new Map<string, string>()
      const inputs = (cfg.input_layers as [string, number, number][]).map((x) => x[0])
      for (const l of cfg.layers as KerasLayer[]) {
        const name = l.name ?? l.config.name
        if (l.class_name === 'InputLayer') {
          if (!inputs.includes(name)) continue
          if (input === null) {
            nodes.push({ name, className: 'InputLayer', config: l.config, inputs: [] })
            rename.set(name, name)
          } else rename.set(name, input)
          continue
        }
        const inbound = (l.inbound_nodes?.[0] ?? []) as [string, number, number][]
        const ins = inbound.map((x) => {
          const r = rename.get(x[0])
          if (!r) throw new Error(`${source}: layer '${name}' uses unknown input '${x[0]}'`)
          return r
        })
        if (l.class_name === 'Sequential' || l.class_name === 'Model') {
          rename.set(name, walk(l, ins[0] ?? null))
        } else {
          nodes.push({ name, className: l.class_name, config: l.config, inputs: ins })
          rename.set(name, name)
        }
      }
      const out = (cfg.output_layers as [string, number, number][])[0][0]
      const r = rename.get(out)
      if (!r) throw new Error(`${source}: unknown output layer '${out}'`)
      return r
    }
    const name = cfg.name ?? layer.name
    if (input === null) {
      nodes.push({ name: `${name}_input`, className: 'InputLayer', config: cfg, inputs: [] })
      input = `${name}_input`
    }
    nodes.push({ name, className: layer.class_name, config: cfg, inputs: [input] })
    return name
  }
  const output = walk(root as KerasLayer, null)
  return { nodes, output }
}

const pair = (v: number | number[]): [number, number] => (Array.isArray(v) ? [v[0], v[1]] : [v, v])

function activationModule(name: string | undefined, source: string, layer: string): Module | null {
  if (!name || name === 'linear' || name === 'softmax') return null
  if (name === 'relu') return new ReLU()
  if (name === 'relu6') return new ReLU6()
  throw new Error(`${source}: layer '${layer}': unsupported activation '${name}'`)
}

interface Step {
  name: string
  inputs: string[]
  kind: 'module' | 'add'
  module?: Module
}

export class KerasBNNet extends BNNetBase {
  readonly arch = 'mobilenetv2' as const
  readonly featureDim: number
  readonly preprocessing: Preprocessing
  head: Linear
  headName: string
  numClasses: number
  private readonly steps: Step[] = []
  private readonly inputName: string
  private readonly poolName: string
  /** hidden Dense layers between pooling and head, each followed by its activation */
  private neck: { name: string; linear: Linear; act: Module | null }[] = []
  private readonly kerasKinds = new Map<string, { className: string; module: Module }>()
  private readonly stageMap = new Map<string, string>()

  constructor(topology: unknown, opts: { source?: string; inputSize?: [number, number] } = {}) {
    super()
    const source = opts.source ?? 'model.json'
    const { nodes } = flattenKerasTopology(topology, source)
    const input = nodes.find((n) => n.className === 'InputLayer')
    if (!input) throw new Error(`${source}: no InputLayer in the topology`)
    this.inputName = input.name
    const shape = (input.config.batch_input_shape ?? input.config.batchInputShape) as (number | null)[] | undefined
    // every size a model.json declares is checked before anything is allocated (a crafted file could ask for
    // billions of channels): small positive integers, and at most 64 Mi weights per layer
    const dim = (v: unknown, what: string, max: number): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw new Error(`${source}: ${what} must be an integer in [1, ${max}] (got ${JSON.stringify(v)})`)
      return v
    }
    const weights = (n: number, layer: string): void => {
      if (n > 64 * 1024 * 1024) throw new Error(`${source}: layer '${layer}' would hold ${n} weights, more than ${64 * 1024 * 1024}`)
    }
    const inC = dim(shape?.[3] ?? 3, 'the input channel count', 64)
    const channels = new Map<string, number>([[input.name, inC]])
    const poolIdx = nodes.findIndex((n) => n.className === 'GlobalAveragePooling2D')
    if (poolIdx < 0) throw new Error(`${source}: no GlobalAveragePooling2D layer: cannot tell backbone from head`)
    this.poolName = nodes[poolIdx].name
    for (const n of nodes.slice(0, poolIdx + 1)) {
      if (n.className === 'InputLayer') continue
      const c = n.config
      const cin = channels.get(n.inputs[0]) ?? -1
      if (cin < 1) throw new Error(`${source}: layer '${n.name}' reads '${n.inputs[0]}', which no earlier layer of the backbone defines`)
      let module: Module
      let cout = cin
      switch (n.className) {
        case 'ZeroPadding2D': {
          const p = c.padding as number | number[] | number[][]
          const pads: [[number, number], [number, number]] = Array.isArray(p) && Array.isArray(p[0])
            ? [pair(p[0] as number[]), pair(p[1] as number[])]
            : [pair(Array.isArray(p) ? (p as number[])[0] : p), pair(Array.isArray(p) ? (p as number[])[1] : p)]
          module = new ZeroPad2d(pads)
          break
        }
        case 'Conv2D':
          cout = dim(c.filters, `filters of '${n.name}'`, 16384)
          for (const k of pair(c.kernel_size)) dim(k, `kernel_size of '${n.name}'`, 31)
          weights(cout * cin * pair(c.kernel_size)[0] * pair(c.kernel_size)[1], n.name)
          module = new Conv2d(cin, cout, pair(c.kernel_size), { stride: pair(c.strides), padding: c.padding, bias: !!c.use_bias })
          break
        case 'DepthwiseConv2D':
          cout = cin * dim(c.depth_multiplier ?? 1, `depth_multiplier of '${n.name}'`, 64)
          for (const k of pair(c.kernel_size)) dim(k, `kernel_size of '${n.name}'`, 31)
          weights(cout * pair(c.kernel_size)[0] * pair(c.kernel_size)[1], n.name)
          module = new Conv2d(cin, cout, pair(c.kernel_size), { stride: pair(c.strides), padding: c.padding, groups: cin, bias: !!c.use_bias })
          break
        case 'BatchNormalization':
          if (c.center === false || c.scale === false) throw new Error(`${source}: BN layer '${n.name}' without center/scale is not supported`)
          module = new BatchNorm2d(cin, { eps: c.epsilon ?? 1e-3, momentum: 1 - (c.momentum ?? 0.99) })
          break
        case 'ReLU':
          if ((c.negative_slope ?? 0) !== 0 || (c.threshold ?? 0) !== 0) throw new Error(`${source}: ReLU '${n.name}' with slope/threshold is not supported`)
          if (c.max_value == null) module = new ReLU()
          else if (c.max_value === 6) module = new ReLU6()
          else throw new Error(`${source}: ReLU '${n.name}' with max_value ${c.max_value} is not supported`)
          break
        case 'Activation':
          module = activationModule(c.activation, source, n.name) ?? new Identity()
          break
        case 'Dropout':
          module = new Identity()
          break
        case 'Add':
          this.steps.push({ name: n.name, inputs: n.inputs, kind: 'add' })
          channels.set(n.name, cin)
          continue
        case 'GlobalAveragePooling2D':
          module = new GlobalAvgPool2d()
          break
        default:
          throw new Error(`${source}: unsupported Keras layer '${n.className}' ('${n.name}') in the backbone`)
      }
      if (module.parameters().length > 0) this.registerModule(n.name, module)
      this.kerasKinds.set(n.name, { className: n.className, module })
      this.steps.push({ name: n.name, inputs: n.inputs, kind: 'module', module })
      channels.set(n.name, cout)
    }
    this.featureDim = channels.get(this.poolName) ?? -1
    const dense = nodes.slice(poolIdx + 1).filter((n) => n.className !== 'Dropout' && n.className !== 'Flatten')
    if (dense.length === 0 || dense.some((n) => n.className !== 'Dense')) {
      throw new Error(`${source}: expected Dense layers after the global pooling, got ${dense.map((n) => n.className).join(', ') || 'none'}`)
    }
    let width = this.featureDim
    for (const [i, n] of dense.entries()) {
      const linear = new Linear(width, n.config.units, { bias: !!n.config.use_bias })
      this.registerModule(n.name, linear)
      this.kerasKinds.set(n.name, { className: 'Dense', module: linear })
      width = n.config.units
      if (i < dense.length - 1) this.neck.push({ name: n.name, linear, act: activationModule(n.config.activation, source, n.name) })
    }
    const last = dense[dense.length - 1]
    this.headName = last.name
    this.head = this.kerasKinds.get(last.name)!.module as Linear
    this.numClasses = last.config.units
    const size = opts.inputSize ?? (shape && shape[1] && shape[2] ? [shape[1], shape[2]] as [number, number] : [224, 224] as [number, number])
    this.preprocessing = { inputSize: size, range: [-1, 1] }
    this.assignStages()
  }

  private assignStages(): void {
    // MobileNetV2 bottleneck groups by width: expanded_conv | 1-2 | 3-5 | 6-9 | 10-12 | 13-15 | 16
    const groups = [[1, 2], [3, 5], [6, 9], [10, 12], [13, 15], [16, 16]]
    for (const [name] of this.kerasKinds) {
      let stage = 'stem'
      const b = /^block_(\d+)_/.exec(name)
      if (b) {
        const k = Number(b[1])
        const g = groups.findIndex(([lo, hi]) => k >= lo && k <= hi)
        stage = g >= 0 ? `stage ${g + 2}` : `block ${k}`
      } else if (name.startsWith('expanded_conv')) stage = 'stage 1'
      else if (/^Conv_1/.test(name)) stage = 'top'
      this.stageMap.set(name, stage)
    }
  }

  protected stageOf(bnName: string): string {
    return this.stageMap.get(bnName) ?? 'stem'
  }

  protected override headModuleNames(): string[] {
    return [...this.neck.map((n) => n.name), this.headName]
  }

  private fused: Map<number, 'relu' | 'relu6'> | null = null

  /** step index of each BN whose output only the next step, a ReLU or ReLU6, reads -> that activation */
  private fusedActivations(): Map<number, 'relu' | 'relu6'> {
    if (this.fused) return this.fused
    const uses = new Map<string, number>()
    for (const s of this.steps) for (const i of s.inputs) uses.set(i, (uses.get(i) ?? 0) + 1)
    this.fused = new Map()
    this.steps.forEach((s, k) => {
      const next = this.steps[k + 1]
      if (!(s.module instanceof BatchNorm2d) || !next || next.kind !== 'module' || uses.get(s.name) !== 1 || next.inputs.length !== 1 || next.inputs[0] !== s.name) return
      if (next.module instanceof ReLU6) this.fused!.set(k, 'relu6')
      else if (next.module instanceof ReLU) this.fused!.set(k, 'relu')
    })
    return this.fused
  }

  features(x: tf.Tensor4D, mode: ModeArg): tf.Tensor2D {
    return tf.tidy(() => {
      const uses = new Map<string, number>()
      for (const s of this.steps) for (const i of s.inputs) uses.set(i, (uses.get(i) ?? 0) + 1)
      const values = new Map<string, tf.Tensor>([[this.inputName, x]])
      const release = (name: string): void => {
        const left = (uses.get(name) ?? 0) - 1
        uses.set(name, left)
        const t = values.get(name)
        if (left <= 0 && t && t !== x) {
          t.dispose()
          values.delete(name)
        }
      }
      const fused = this.fusedActivations()
      for (let k = 0; k < this.steps.length; k++) {
        const s = this.steps[k]
        const ins = s.inputs.map((i) => {
          const t = values.get(i)
          if (!t) throw new Error(`KerasBNNet: missing value for '${i}' (needed by '${s.name}')`)
          return t
        })
        const act = fused.get(k)
        if (act) {
          // BN and the activation that alone reads it: one call (one kernel each way when training, BatchNorm2d)
          values.set(this.steps[k + 1].name, (s.module as BatchNorm2d).forward(ins[0], mode, act))
          s.inputs.forEach(release)
          k++
          continue
        }
        const y = s.kind === 'add' ? tf.addN(ins) : s.module!.forward(ins[0], mode)
        values.set(s.name, y)
        s.inputs.forEach(release)
      }
      return values.get(this.poolName) as tf.Tensor2D
    })
  }

  override forward(x: tf.Tensor4D, mode: ModeArg): tf.Tensor2D {
    return tf.tidy(() => {
      let y = this.features(x, mode)
      for (const n of this.neck) {
        y = n.linear.forward(y)
        if (n.act) y = n.act.forward(y, mode) as tf.Tensor2D
      }
      return this.head.forward(y)
    })
  }

  override replaceHead(numClasses: number, init: 'random' | 'zero', seed?: number): void {
    for (const n of this.neck) {
      this.removeModule(n.name)
      this.kerasKinds.delete(n.name)
    }
    this.kerasKinds.delete(this.headName)
    this.neck = []
    super.replaceHead(numClasses, init, seed)
    this.kerasKinds.set(this.headName, { className: 'Dense', module: this.head })
  }

  /**
   * Load TF.js layers weights (tfjs names like 'Conv1/kernel', 'bn_Conv1/moving_mean' and tfjs
   * layouts, as the io tfjs-layers reader returns them). Shape mismatches and missing weights throw.
   * Returns the weight names that no layer used.
   */
  loadKerasWeights(weights: StateDict, source = 'model.json'): { unused: string[] } {
    const used = new Set<string>()
    const take = (layer: string, suffix: string): tf.Tensor => {
      const key = `${layer}/${suffix}`
      const h = weights.get(key)
      if (!h) throw new Error(`${source}: missing weight '${key}'`)
      used.add(key)
      const data = h.data instanceof Float32Array ? h.data : Float32Array.from(h.data)
      return tf.tensor(data, h.shape, 'float32')
    }
    const put = (v: tf.Variable, t: tf.Tensor, key: string): void => {
      if (v.shape.join(',') !== t.shape.join(',')) {
        t.dispose()
        throw new Error(`${source}: weight '${key}' has shape [${t.shape}], the layer expects [${v.shape}]`)
      }
      v.assign(t)
      t.dispose()
    }
    for (const [name, { className, module }] of this.kerasKinds) {
      if (module instanceof Conv2d) {
        put(module.weight, take(name, className === 'DepthwiseConv2D' ? 'depthwise_kernel' : 'kernel'), `${name}/kernel`)
        if (module.bias) put(module.bias, take(name, 'bias'), `${name}/bias`)
      } else if (module instanceof BatchNorm2d) {
        put(module.weight, take(name, 'gamma'), `${name}/gamma`)
        put(module.bias, take(name, 'beta'), `${name}/beta`)
        put(module.runningMean, take(name, 'moving_mean'), `${name}/moving_mean`)
        put(module.runningVar, take(name, 'moving_variance'), `${name}/moving_variance`)
      } else if (module instanceof Linear) {
        const k = take(name, 'kernel')
        const kt = k.transpose()
        k.dispose()
        put(module.weight, kt, `${name}/kernel`)
        if (module.bias) put(module.bias, take(name, 'bias'), `${name}/bias`)
      }
    }
    return { unused: [...weights.keys()].filter((k) => !used.has(k)) }
  }
}
