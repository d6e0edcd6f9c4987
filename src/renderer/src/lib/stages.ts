/** Index ranges of consecutive equal stages: [{ stage, from, to }] (for stage bands under per-layer charts). */
export function stageRuns(stages: readonly string[]): { stage: string; from: number; to: number }[] {
  const out: { stage: string; from: number; to: number }[] = []
  stages.forEach((s, i) => {
    const last = out[out.length - 1]
    if (last && last.stage === s) last.to = i
    else out.push({ stage: s, from: i, to: i })
  })
  return out
}

/** The stage of a PyTorch parameter / layer name: 'layer2.0.bn1' -> 'layer2', 'bn1' -> 'stem', 'features.3.conv.1' -> 'features.3'. */
export function stageOf(name: string): string {
  const m = /^(layer\d+)\./.exec(name)
  if (m) return m[1]
  const f = /^(features\.\d+)\./.exec(name)
  if (f) return f[1]
  return /^(conv1|bn1)$/.test(name.split('.')[0]) || !name.includes('.') ? 'stem' : name.split('.')[0]
}
