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
import type { BatchNormLayer } from '../nn/module'
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

/** Source and target statistics of every BN layer, with each layer's eps. */
export interface BNStatistics extends BNConversionLayer {
  eps: number
}

export interface TargetStatisticsResult {
  layers: BNStatistics[]
  batches: number
  samples: number
}

export interface ConvertBatchNormOptions {
  /** dispose every batch tensor after use (default false: the caller owns them) */
  disposeBatches?: boolean
  /** called after every batch */
  onProgress?: (batchesDone: number, samplesDone: number) => void
}

type Batches = AsyncIterable<tf.Tensor4D | { x: tf.Tensor4D }> | Iterable<tf.Tensor4D | { x: tf.Tensor4D }>

/**
 * Target statistics of every BN layer (Algorithm 1's M_t, Sigma_t) without modifying the model: an
 * eval-mode pass, per batch the channel mean and UNBIASED variance (m/(m-1), m = N*H*W) of each BN input,
 * plain mean over batches. Returns the source running statistics beside them.
 */
export async function targetStatistics(
  model: BNNet,
  batches: Batches,
  opts: ConvertBatchNormOptions & { maxBatches?: number } = {},
): Promise<TargetStatisticsResult> {
  const layers = model.bnLayers()
  if (layers.length === 0) throw new Error(`targetStatistics: model ${model.arch} has no BatchNorm layers`)
  const index = new Map<BatchNormLayer, number>(layers.map((l, i) => [l.bn, i]))
  const sumMean = layers.map((l) => new Float64Array(l.bn.numFeatures))
  const sumVar = layers.map((l) => new Float64Array(l.bn.numFeatures))
  let nBatches = 0
  let nSamples = 0
  for await (const b of batches as AsyncIterable<tf.Tensor4D | { x: tf.Tensor4D }>) {
    const x = b instanceof tf.Tensor ? b : b.x
    if (opts.maxBatches !== undefined && nBatches >= opts.maxBatches) {
      if (opts.disposeBatches) x.dispose()
      break
    }
    if (x.rank !== 4) throw new Error(`targetStatistics: batch ${nBatches} has shape [${x.shape}], expected NHWC [N, H, W, C]`)
    const kept: { i: number; mean: tf.Tensor; variance: tf.Tensor; m: number }[] = []
    const feats = model.features(x, {
      bn: 'eval',
      onBatchNormInput: (bn, input) => {
        const i = index.get(bn)
        if (i === undefined) return
        const [n, h, w] = input.shape
        const m = n * h * w
        if (m < 2) throw new Error(`targetStatistics: batch ${nBatches} gives only ${m} value per channel at ${layers[i].name}; need at least 2`)
        // two-stage reduction (per image over H*W, then over N), as convertBatchNorm does
        const [mean, variance] = tf.tidy(() => {
          const mu = input.mean([1, 2]).mean(0)
          return [tf.keep(mu), tf.keep(input.sub(mu).square().mean([1, 2]).mean(0))]
        })
        kept.push({ i, mean, variance, m })
      },
    })
    feats.dispose()
    for (const k of kept) {
      const mean = k.mean.dataSync()
      const variance = k.variance.dataSync()
      const f = k.m / (k.m - 1)
      for (let c = 0; c < mean.length; c++) {
        sumMean[k.i][c] += mean[c]
        sumVar[k.i][c] += variance[c] * f
      }
      k.mean.dispose()
      k.variance.dispose()
    }
    if (kept.length !== layers.length) throw new Error(`targetStatistics: only ${kept.length} of ${layers.length} BN layers saw batch ${nBatches}`)
    nBatches++
    nSamples += x.shape[0]
    if (opts.disposeBatches) x.dispose()
    opts.onProgress?.(nBatches, nSamples)
  }
  if (nBatches === 0) throw new Error('targetStatistics: no batches of target data')
  return {
    layers: layers.map(({ name, stage, bn }, i) => ({
      name,
      stage,
      eps: bn.eps,
      Ms: Float32Array.from(bn.runningMean.dataSync() as Float32Array),
      Ss: Float32Array.from(bn.runningVar.dataSync() as Float32Array),
      Mt: Float32Array.from(sumMean[i], (s) => s / nBatches),
      St: Float32Array.from(sumVar[i], (s) => s / nBatches),
    })),
    batches: nBatches,
    samples: nSamples,
  }
}

/** Convert every BN layer of `model` to the target domain seen in `batches` (NHWC, preprocessed): Eq. 5 in place. */
export async function convertBatchNorm(model: BNNet, batches: Batches, opts: ConvertBatchNormOptions = {}): Promise<BNConversionResult> {
  const stats = await targetStatistics(model, batches, opts)
  const bns = model.bnLayers()
  stats.layers.forEach((l, i) => {
    const bn = bns[i].bn
    const gamma = bn.weight.dataSync()
    const beta = bn.bias.dataSync()
    const C = bn.numFeatures
    const gammaT = new Float32Array(C)
    const betaT = new Float32Array(C)
    for (let c = 0; c < C; c++) {
      const sdS = Math.sqrt(l.Ss[c] + bn.eps)
      gammaT[c] = (gamma[c] * Math.sqrt(l.St[c] + bn.eps)) / sdS
      betaT[c] = beta[c] + (gamma[c] * (l.Mt[c] - l.Ms[c])) / sdS
    }
    bn.setState({ weight: gammaT, bias: betaT, runningMean: l.Mt, runningVar: l.St })
  })
  return { layers: stats.layers.map(({ name, stage, Ms, Ss, Mt, St }) => ({ name, stage, Ms, Ss, Mt, St })), batches: stats.batches, samples: stats.samples }
}
