/**
 * Architectures behind one interface (BNNet): CIFAR ResNet-20/32/44/56, torchvision ResNet-18/34/50,
 * MobileNetV2 from a TF.js layers model.json. `detectArchitecture` reads a PyTorch state dict's keys,
 * `createModel` builds a randomly initialised network, `loadPretrained` reads a checkpoint file
 * (via io/loadCheckpoint) into the matching network.
 */
import { loadCheckpoint } from '../io'
import type { StateDict } from '../io/types'
import { CifarResNet, CIFAR_RESNET_DEPTHS } from './cifarResnet'
import { KerasBNNet } from './mobilenetv2'
import { TorchvisionResNet, TORCHVISION_RESNETS } from './torchvisionResnet'
import type { ArchName, BNNet, CifarResNetArch, TorchvisionResNetArch } from './types'

export * from './types'
export { BNNetBase } from './base'
export { CifarResNet, CifarBasicBlock, OptionAShortcut, IMAGENET_MEAN, IMAGENET_STD } from './cifarResnet'
export { TorchvisionResNet, BasicBlock, Bottleneck } from './torchvisionResnet'
export { KerasBNNet, flattenKerasTopology } from './mobilenetv2'

export const ARCHITECTURES: ArchName[] = ['resnet8', 'resnet20', 'resnet32', 'resnet44', 'resnet56', 'resnet18', 'resnet34', 'resnet50', 'mobilenetv2']

const isCifar = (a: string): a is CifarResNetArch => a in CIFAR_RESNET_DEPTHS
const isTorchvision = (a: string): a is TorchvisionResNetArch => a in TORCHVISION_RESNETS

/** Count the blocks `layer{stage}.{i}.` present in the keys. */
function blocksPerStage(keys: string[], stage: number): number {
  let n = 0
  const re = new RegExp(`^layer${stage}\\.(\\d+)\\.`)
  for (const k of keys) {
    const m = re.exec(k)
    if (m) n = Math.max(n, Number(m[1]) + 1)
  }
  return n
}

/**
 * Architecture of a state dict from its key names (prefixes like `module.` already stripped), or
 * null if unknown. TF.js layer weight names (`bn_Conv1/gamma`, `block_1_expand/kernel`) give 'mobilenetv2'.
 */
export function detectArchitecture(sd: StateDict): ArchName | null {
  const keys = [...sd.keys()]
  if (keys.some((k) => k.startsWith('block_1_expand') || k.startsWith('bn_Conv1/'))) return 'mobilenetv2'
  const counts = [1, 2, 3, 4].map((s) => blocksPerStage(keys, s))
  if (sd.has('linear.weight') && sd.has('conv1.weight') && counts[3] === 0) {
    const n = counts[0]
    if (n > 0 && counts[1] === n && counts[2] === n) {
      const arch = `resnet${6 * n + 2}`
      if (isCifar(arch)) return arch
    }
    return null
  }
  if (sd.has('fc.weight') && sd.has('conv1.weight') && counts[3] > 0) {
    const bottleneck = keys.some((k) => /^layer1\.0\.conv3\.weight$/.test(k))
    for (const [arch, spec] of Object.entries(TORCHVISION_RESNETS)) {
      if ((spec.block === 'bottleneck') === bottleneck && spec.layers.every((n, i) => n === counts[i])) return arch as ArchName
    }
  }
  return null
}

/** A randomly initialised network (MobileNetV2 needs a topology: use loadPretrained / KerasBNNet). */
export function createModel(arch: ArchName, numClasses: number, opts: { seed?: number } = {}): BNNet {
  if (isCifar(arch)) return new CifarResNet(arch, numClasses, opts)
  if (isTorchvision(arch)) return new TorchvisionResNet(arch, numClasses, opts)
  if (arch === 'mobilenetv2') throw new Error(`createModel: 'mobilenetv2' is built from a TF.js layers model.json; use loadPretrained(path)`)
  throw new Error(`createModel: unknown architecture '${arch as string}' (known: ${ARCHITECTURES.join(', ')})`)
}

/** Number of classes of a PyTorch state dict's classifier. */
function headClasses(sd: StateDict, key: string, file: string): number {
  const w = sd.get(key)
  if (!w || w.shape.length !== 2) throw new Error(`${file}: no 2-D classifier weight '${key}'`)
  return w.shape[0]
}

/**
 * Load a pretrained network: a PyTorch checkpoint (.th/.pt/.pth, legacy or zip), a safetensors
 * file, or a TF.js layers model (model.json or its folder). `arch` overrides detection.
 * Errors name the file.
 */
export async function loadPretrained(path: string, arch?: ArchName): Promise<BNNet> {
  const ckpt = await loadCheckpoint(path)
  const sd = ckpt.stateDict
  const found = arch ?? (ckpt.format === 'tfjs-layers' ? 'mobilenetv2' : detectArchitecture(sd))
  if (!found) {
    const sample = [...sd.keys()].slice(0, 6).join(', ')
    throw new Error(`${path}: cannot tell the architecture from the state dict keys (${sample}, ...); known: ${ARCHITECTURES.join(', ')}`)
  }
  if (found === 'mobilenetv2') {
    const topology = ckpt.meta.modelTopology
    if (ckpt.format !== 'tfjs-layers' || !topology) throw new Error(`${path}: mobilenetv2 is loaded from a TF.js layers model.json (with modelTopology)`)
    const net = new KerasBNNet(topology, { source: path })
    try {
      net.loadKerasWeights(sd, path)
    } catch (e) {
      net.dispose()
      throw e
    }
    return net
  }
  const numClasses = headClasses(sd, isCifar(found) ? 'linear.weight' : 'fc.weight', path)
  const net = createModel(found, numClasses)
  try {
    net.loadStateDict(sd, { strict: true, source: path })
  } catch (e) {
    net.dispose()
    throw e
  }
  return net
}
