/**
 * Batch Normalization Conversion (DAFT, Algorithm 1). The target training data is run through the
 * model in EVAL mode, so every BN still normalises with the source statistics and sees the
 * pretrained network's activations. Per batch and BN layer we record the input's channel mean mu_t
 * and UNBIASED variance sigma_t^2 * m/(m-1) (m = that batch's N*H*W), average both over batches
 * (plain mean, E_B in Eq. 3), and replace in place (Eq. 5):
 *   gamma_t = gamma_s * sqrt(Sigma_t + eps) / sqrt(Sigma_s + eps)
 *   beta_t  = beta_s + gamma_s * (M_t - M_s) / sqrt(Sigma_s + eps)
 *   running_mean = M_t, running_var = Sigma_t
 * The eval-mode function of every BN layer (hence logits and features) is unchanged by construction.
 */
import * as tf from '@tensorflow/tfjs'
import type { BatchNorm2d } from '../nn'
import type { BNNet } from '../models/types'

export interface BNConversionLayer {
  /** e.g. 'layer1.0.bn1' */
  name: string
  /** e.g. 'stem', 'stage 1' */
  stage: string
  /** source running mean / variance (before conversion) */
  Ms: Float32Array
  Ss: Float32Array
  /** target statistics (after conversion: the new running mean / variance) */
  Mt: Float32Array
  St: Float32Array
}

export interface BNConversionResult {
  layers: BNConversionLayer[]
  batches: number
  samples: number
}

export interface ConvertBatchNormOptions {
  /** dispose every batch tensor after use (default false: the caller owns them) */
  disposeBatches?: boolean
  /** called after every batch */
  onProgress?: (batchesDone: number, samplesDone: number) => void
}

/**
 * Channel mean and biased variance over N, H, W, reduced in two stages (per image over H*W, then over
 * N) so float32 sums stay short: one long reduction over 50*32*32 values costs ~1e-5 relative accuracy.
 */
function channelMoments(x: tf.Tensor4D): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  return tf.tidy(() => {
    const mean = x.mean([1, 2]).mean(0) as tf.Tensor1D
    const variance = x.sub(mean).square().mean([1, 2]).mean(0) as tf.Tensor1D
    return { mean, variance }
  })
}

type Batches = AsyncIterable<tf.Tensor4D> | Iterable<tf.Tensor4D>

/** Convert every BN layer of `model` to the target domain seen in `batches` (NHWC, preprocessed). */
export async function convertBatchNorm(model: BNNet, batches: Batches, opts: ConvertBatchNormOptions = {}): Promise<BNConversionResult> {
  const layers = model.bnLayers()
  if (layers.length === 0) throw new Error(`convertBatchNorm: model ${model.arch} has no BatchNorm layers`)
  const index = new Map<BatchNorm2d, number>(layers.map((l, i) => [l.bn, i]))
  const sumMean = layers.map((l) => new Float64Array(l.bn.numFeatures))
  const sumVar = layers.map((l) => new Float64Array(l.bn.numFeatures))
  let nBatches = 0
  let nSamples = 0

  for await (const x of batches as AsyncIterable<tf.Tensor4D>) {
    if (x.rank !== 4) throw new Error(`convertBatchNorm: batch ${nBatches} has shape [${x.shape}], expected NHWC [N, H, W, C]`)
    const kept: { i: number; mean: tf.Tensor; variance: tf.Tensor; m: number }[] = []
    const feats = model.features(x, {
      bn: 'eval',
      onBatchNormInput: (bn, input) => {
        const i = index.get(bn)
        if (i === undefined) return
        const [n, h, w] = input.shape
        const m = n * h * w
        if (m < 2) throw new Error(`convertBatchNorm: batch ${nBatches} gives only ${m} value per channel at ${layers[i].name}; need at least 2`)
        const { mean, variance } = channelMoments(input)
        kept.push({ i, mean: tf.keep(mean), variance: tf.keep(variance), m })
      },
    })
    feats.dispose()
    for (const k of kept) {
      const mean = k.mean.dataSync()
      const variance = k.variance.dataSync()
      const f = k.m / (k.m - 1)
      const sm = sumMean[k.i]
      const sv = sumVar[k.i]
      for (let c = 0; c < sm.length; c++) {
        sm[c] += mean[c]
        sv[c] += variance[c] * f
      }
      k.mean.dispose()
      k.variance.dispose()
    }
    if (kept.length !== layers.length) throw new Error(`convertBatchNorm: only ${kept.length} of ${layers.length} BN layers saw batch ${nBatches}`)
    nBatches++
    nSamples += x.shape[0]
    if (opts.disposeBatches) x.dispose()
    opts.onProgress?.(nBatches, nSamples)
  }
  if (nBatches === 0) throw new Error('convertBatchNorm: no batches of target data')

  const out = layers.map(({ name, stage, bn }, i) => {
    const Ms = bn.runningMean.dataSync() as Float32Array
    const Ss = bn.runningVar.dataSync() as Float32Array
    const gamma = bn.weight.dataSync()
    const beta = bn.bias.dataSync()
    const C = bn.numFeatures
    const Mt = new Float32Array(C)
    const St = new Float32Array(C)
    const gammaT = new Float32Array(C)
    const betaT = new Float32Array(C)
    for (let c = 0; c < C; c++) {
      const mt = sumMean[i][c] / nBatches
      const st = sumVar[i][c] / nBatches
      const sdS = Math.sqrt(Ss[c] + bn.eps)
      Mt[c] = mt
      St[c] = st
      gammaT[c] = (gamma[c] * Math.sqrt(st + bn.eps)) / sdS
      betaT[c] = beta[c] + (gamma[c] * (mt - Ms[c])) / sdS
    }
    return { name, stage, Ms: Float32Array.from(Ms), Ss: Float32Array.from(Ss), Mt, St, gammaT, betaT, bn }
  })
  for (const l of out) l.bn.setState({ weight: l.gammaT, bias: l.betaT, runningMean: l.Mt, runningVar: l.St })
  return {
    layers: out.map(({ name, stage, Ms, Ss, Mt, St }) => ({ name, stage, Ms, Ss, Mt, St })),
    batches: nBatches,
    samples: nSamples,
  }
}
