/**
 * Identity for the wasm backend without a copy: the output shares the input's heap block (reference counted), as
 * the cpu backend's Identity and wasm's own Reshape already do; tensors are immutable, so sharing is safe.
 * wasm's kernel memcpy'd every tensor the gradient tape saves (engine.clone runs Identity): ~200 copies of
 * activations per ResNet-20 training step, 0.25 s per ResNet-50 micro-batch of 4 images at 224x224.
 */
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from './util'
import { wasmBackend } from './wasmInternals'

export function makeIdentityShared(original: tf.KernelConfig | undefined): (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => TensorInfo {
  return (args) => {
    const x = args.inputs.x as TensorInfo
    if (x.dtype === 'string') {
      if (!original) throw new Error(`kernels/Identity: cannot share a ${x.dtype} tensor on this backend`)
      return original.kernelFunc(args as never) as TensorInfo
    }
    wasmBackend(args.backend).incRef(x.dataId)
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
  }
}
