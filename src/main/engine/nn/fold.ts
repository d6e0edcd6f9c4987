/**
 * conv -> BatchNorm -> (ReLU) with the BN folded into the convolution where BN uses its running statistics
 * ('eval' and 'frozen'): W' = W * gamma / sqrt(running_var + eps) per output channel, b' = beta - running_mean *
 * gamma / sqrt(running_var + eps) (+ the conv's own bias, scaled), then one fused conv + bias + ReLU kernel. The
 * same function as bn(conv(x)) up to float rounding (~1e-6 relative), one pass over the activations instead of
 * three, and differentiable in W, gamma and beta (frozen-BN training). In plain inference (no tape) with the native
 * kernels, DaftConvBatchNorm applies the BN in the conv's output pass instead (no rescaled copy of the filter), and a
 * ResNet block's shortcut add and ReLU with it.
 * BN in 'train' mode, hooks that need the BN input (statistics passes, the shift meter) and depthwise convs take the
 * unfolded path. DAFT_FOLD_BN=0 (read at start-up) turns folding off.
 */
import * as tf from '@tensorflow/tfjs'
import { CONV_BATCH_NORM } from '../kernels/native'
import { BatchNorm2d } from './batchnorm'
import { Conv2d } from './layers'
import { toForwardOptions, type ModeArg } from './module'

const foldingOff = process.env.DAFT_FOLD_BN === '0'

/**
 * activation(bn(conv(x)) (+ residual)): `residual` is a ResNet block's shortcut, added before the activation (in
 * training BN, the add and the ReLU run as one kernel each way where the backend has it: BatchNorm2d.forward).
 */
export function convBn(conv: Conv2d, bn: BatchNorm2d, x: tf.Tensor, mode: ModeArg, activation: 'relu' | 'linear', residual?: tf.Tensor): tf.Tensor4D {
  const opts = toForwardOptions(mode)
  if (opts.bn === 'train' || opts.onBatchNormInput || conv.depthwise || foldingOff) {
    // BN + ReLU as one kernel each way in training where the backend has it (BatchNorm2d.forward)
    return bn.forward(conv.forward(x, mode), mode, activation, residual)
  }
  // plain inference (no tape recording) on a backend with the one-pass kernel: BN (and the residual, and the ReLU)
  // applied in the conv's output pass
  const tapeOn = (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn()
  const onePass = !tapeOn && tf.getKernel(CONV_BATCH_NORM, tf.getBackend()) != null
  if (residual && !onePass) {
    return tf.tidy(() => {
      const z = tf.add(convBn(conv, bn, x, mode, 'linear'), residual) as tf.Tensor4D
      return activation === 'relu' ? tf.relu(z) : z
    })
  }
  return tf.tidy(() => {
    const pad = conv.padArg()
    if (onePass) {
      const inputs: tf.NamedTensorMap = { x, filter: conv.weight, gamma: bn.weight, beta: bn.bias, mean: bn.runningMean, variance: bn.runningVar }
      if (conv.bias) inputs.bias = conv.bias
      if (residual) inputs.residual = residual
      const attrs = { strides: conv.stride, pad, dilations: 1, dataFormat: 'NHWC', dimRoundingMode: undefined, epsilon: bn.eps, activation }
      return tf.engine().runKernel(CONV_BATCH_NORM, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D
    }
    const scale = bn.weight.mul(tf.rsqrt(bn.runningVar.add(bn.eps))) as tf.Tensor1D
    let bias = bn.bias.sub(bn.runningMean.mul(scale)) as tf.Tensor1D
    if (conv.bias) bias = bias.add(conv.bias.mul(scale))
    return tf.fused.conv2d({
      x: x as tf.Tensor4D,
      filter: conv.weight.mul(scale) as tf.Tensor4D,
      strides: conv.stride,
      pad,
      bias,
      activation,
    })
  })
}
