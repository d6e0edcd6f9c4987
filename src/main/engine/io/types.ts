/**
 * Host-side tensors as read from checkpoint files, before they become tfjs tensors.
 * Layout is the file's own (PyTorch: conv weights OIHW, linear weights [out, in]).
 */
export type HostDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool'

export interface HostTensor {
  shape: number[]
  dtype: HostDType
  /** float types are widened/narrowed to Float32Array; integer types to Int32Array (int64 clamped, checked) */
  data: Float32Array | Int32Array | Uint8Array
}

/** Ordered name -> tensor map with PyTorch key names (`layer1.0.bn1.running_mean`, ...). */
export type StateDict = Map<string, HostTensor>

export type CheckpointFormat = 'torch-zip' | 'torch-legacy' | 'safetensors' | 'tfjs-layers'

export interface LoadedCheckpoint {
  path: string
  format: CheckpointFormat
  /** tensors after unwrapping (`state_dict`/`model`) and prefix stripping */
  stateDict: StateDict
  /** plain (non-tensor) values found beside the state dict, e.g. { best_prec1: 91.78 } */
  meta: Record<string, unknown>
  /** what key mapping did: prefixes stripped, keys dropped as projection heads */
  notes: string[]
}

/** Raised for any unreadable / unsafe / malformed checkpoint; always names the file. */
export class CheckpointError extends Error {
  constructor(public readonly file: string, message: string) {
    super(`${file}: ${message}`)
    this.name = 'CheckpointError'
  }
}
