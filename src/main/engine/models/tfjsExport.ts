/**
 * Export a (converted or fine-tuned) ResNet as a TF.js LAYERS model: model.json + weights.bin, loadable
 * with `tf.loadLayersModel` in any TF.js app, giving the same eval-mode logits as the workbench.
 * Built from the PyTorch-layout state dict with standard Keras layers only:
 *   PyTorch conv(padding p)      -> ZeroPadding2D(p) + Conv2D('valid')   (Keras 'same' pads asymmetrically)
 *   BatchNorm2d (eval)           -> BatchNormalization(epsilon = the layer's eps)
 *   option-A shortcut            -> MaxPooling2D(1, stride 2) (= x[:, ::2, ::2]) + a fixed 1x1 Conv2D that
 *                                   zero-pads channels
 *   torchvision stem max pool    -> ZeroPadding2D(1) + MaxPooling2D(3, 2) (inputs are >= 0 after ReLU,
 *                                   so zero padding equals PyTorch's -inf padding)
 *   avg pool + Linear            -> GlobalAveragePooling2D + Dense
 * MobileNetV2 came from a TF.js layers model already; its export is not covered here.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import type { BNNet } from './types'
import type { HostTensor, StateDict } from '../io/types'

type SymT = tf.SymbolicTensor

function host(sd: StateDict, key: string): HostTensor {
  const t = sd.get(key)
  if (!t) throw new Error(`exportTfjs: state dict has no '${key}'`)
  return t
}

/** OIHW -> HWIO */
function hwio(t: HostTensor): tf.Tensor4D {
  return tf.tidy(() => tf.tensor4d(t.data as Float32Array, t.shape as [number, number, number, number]).transpose([2, 3, 1, 0]) as tf.Tensor4D)
}

class Builder {
  constructor(private readonly sd: StateDict, private readonly eps: Map<string, number>) {}

  conv(x: SymT, key: string, stride: number, pad: number): SymT {
    const w = host(this.sd, `${key}.weight`)
    const [out, , k] = w.shape
    if (pad > 0) x = tf.layers.zeroPadding2d({ padding: pad, name: `${key}.pad` }).apply(x) as SymT
    const layer = tf.layers.conv2d({ filters: out, kernelSize: k, strides: stride, padding: 'valid', useBias: false, name: key })
    const y = layer.apply(x) as SymT
    const kernel = hwio(w)
    layer.setWeights([kernel])
    kernel.dispose()
    return y
  }

  bn(x: SymT, key: string): SymT {
    const layer = tf.layers.batchNormalization({ axis: -1, epsilon: this.eps.get(key) ?? 1e-5, name: key })
    const y = layer.apply(x) as SymT
    const ws = ['weight', 'bias', 'running_mean', 'running_var'].map((n) => tf.tensor1d(host(this.sd, `${key}.${n}`).data as Float32Array))
    layer.setWeights(ws)
    tf.dispose(ws)
    return y
  }

  relu(x: SymT, name: string): SymT {
    return tf.layers.reLU({ name }).apply(x) as SymT
  }

  add(a: SymT, b: SymT, name: string): SymT {
    return tf.layers.add({ name }).apply([a, b]) as SymT
  }

  /** x[:, ::2, ::2] then zero channels on both sides: a fixed 1x1 conv */
  optionA(x: SymT, inC: number, outC: number, name: string): SymT {
    const sub = tf.layers.maxPooling2d({ poolSize: 1, strides: 2, padding: 'valid', name: `${name}.subsample` }).apply(x) as SymT
    const layer = tf.layers.conv2d({ filters: outC, kernelSize: 1, useBias: false, trainable: false, name: `${name}.channel_pad` })
    const y = layer.apply(sub) as SymT
    const pad = (outC - inC) / 2
    const k = new Float32Array(inC * outC)
    for (let c = 0; c < inC; c++) k[c * outC + c + pad] = 1
    const kernel = tf.tensor4d(k, [1, 1, inC, outC])
    layer.setWeights([kernel])
    kernel.dispose()
    return y
  }

  head(x: SymT, key: string): SymT {
    const pooled = tf.layers.globalAveragePooling2d({ name: 'avgpool' }).apply(x) as SymT
    const w = host(this.sd, `${key}.weight`)
    const layer = tf.layers.dense({ units: w.shape[0], name: key })
    const y = layer.apply(pooled) as SymT
    const kernel = tf.tidy(() => tf.tensor2d(w.data as Float32Array, w.shape as [number, number]).transpose())
    const bias = tf.tensor1d(host(this.sd, `${key}.bias`).data as Float32Array)
    layer.setWeights([kernel, bias])
    tf.dispose([kernel, bias])
    return y
  }
}

function blocks(sd: StateDict, stage: number): number {
  let n = 0
  for (const k of sd.keys()) {
    const m = new RegExp(`^layer${stage}\\.(\\d+)\\.`).exec(k)
    if (m) n = Math.max(n, Number(m[1]) + 1)
  }
  return n
}

/** Builds the layers model of a CIFAR or torchvision ResNet from its state dict. The caller disposes it. */
export function toLayersModel(model: BNNet): tf.LayersModel {
  const sd = model.stateDict()
  const eps = new Map(model.bnLayers().map((l) => [l.name, l.bn.eps]))
  const b = new Builder(sd, eps)
  // any input size: the network is convolutional up to the global average pool
  const input = tf.input({ shape: [null, null, 3], name: 'input' })
  let x: SymT
  if (model.arch === 'mobilenetv2') throw new Error('exportTfjs: MobileNetV2 is a TF.js layers model already; export it as safetensors')
  const cifar = sd.has('linear.weight')
  if (cifar) {
    x = b.relu(b.bn(b.conv(input, 'conv1', 1, 1), 'bn1'), 'relu')
    for (let s = 1; s <= 3; s++) {
      for (let i = 0; i < blocks(sd, s); i++) {
        const p = `layer${s}.${i}`
        const stride = i === 0 && s > 1 ? 2 : 1
        let y = b.relu(b.bn(b.conv(x, `${p}.conv1`, stride, 1), `${p}.bn1`), `${p}.relu1`)
        y = b.bn(b.conv(y, `${p}.conv2`, 1, 1), `${p}.bn2`)
        const inC = host(sd, `${p}.conv1.weight`).shape[1]
        const outC = host(sd, `${p}.conv1.weight`).shape[0]
        const id = stride !== 1 || inC !== outC ? b.optionA(x, inC, outC, `${p}.shortcut`) : x
        x = b.relu(b.add(y, id, `${p}.add`), `${p}.relu2`)
      }
    }
    return tf.model({ inputs: input, outputs: b.head(x, 'linear'), name: model.arch })
  }
  x = b.relu(b.bn(b.conv(input, 'conv1', 2, 3), 'bn1'), 'relu')
  x = tf.layers.zeroPadding2d({ padding: 1, name: 'maxpool.pad' }).apply(x) as SymT
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: 'maxpool' }).apply(x) as SymT
  const bottleneck = sd.has('layer1.0.conv3.weight')
  for (let s = 1; s <= 4; s++) {
    for (let i = 0; i < blocks(sd, s); i++) {
      const p = `layer${s}.${i}`
      const stride = i === 0 && s > 1 ? 2 : 1
      let y: SymT
      if (bottleneck) {
        y = b.relu(b.bn(b.conv(x, `${p}.conv1`, 1, 0), `${p}.bn1`), `${p}.relu1`)
        y = b.relu(b.bn(b.conv(y, `${p}.conv2`, stride, 1), `${p}.bn2`), `${p}.relu2`)
        y = b.bn(b.conv(y, `${p}.conv3`, 1, 0), `${p}.bn3`)
      } else {
        y = b.relu(b.bn(b.conv(x, `${p}.conv1`, stride, 1), `${p}.bn1`), `${p}.relu1`)
        y = b.bn(b.conv(y, `${p}.conv2`, 1, 1), `${p}.bn2`)
      }
      const id = sd.has(`${p}.downsample.0.weight`) ? b.bn(b.conv(x, `${p}.downsample.0`, stride, 0), `${p}.downsample.1`) : x
      x = b.relu(b.add(y, id, `${p}.add`), `${p}.relu_out`)
    }
  }
  return tf.model({ inputs: input, outputs: b.head(x, 'fc'), name: model.arch })
}

/** Writes `dir/model.json` and `dir/weights.bin` (TF.js layers format). */
export async function exportTfjs(model: BNNet, dir: string, metadata: Record<string, unknown> = {}): Promise<{ modelJson: string; bytes: number }> {
  const layers = toLayersModel(model)
  try {
    mkdirSync(dir, { recursive: true })
    let bytes = 0
    await layers.save(
      tf.io.withSaveHandler(async (a) => {
        const data = a.weightData as ArrayBuffer
        bytes = data.byteLength
        writeFileSync(join(dir, 'weights.bin'), Buffer.from(data))
        const json = {
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
          convertedBy: 'DAFT Workbench',
          modelTopology: a.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
          userDefinedMetadata: { arch: model.arch, ...metadata },
        }
        writeFileSync(join(dir, 'model.json'), JSON.stringify(json))
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
      }),
    )
    return { modelJson: join(dir, 'model.json'), bytes }
  } finally {
    layers.dispose()
  }
}
