/**
 * Engine speed benchmark: training and inference images/s of the project's networks, a per-kernel profile of one
 * ResNet-20 training step (forward and backward), peak RSS, and optionally the same cases in PyTorch.
 *
 *   npm run bench:engine                      per backend (wasm, cpu): ResNet-20 @32 batch 64 train / infer images/s,
 *                                             the BN-conversion ratio (convertBatchNorm time / one eval pass over the
 *                                             same images) and the kernel profile
 *   npm run bench:engine -- --vs-torch        all cases on wasm and in PyTorch (/usr/bin/python3 + Debian's torch,
 *                                             scripts/ref/bench_torch.py, 2 threads, its default threading), in both
 *                                             memory formats (NCHW and channels_last), alternating case by case, with
 *                                             the ratio project / PyTorch's faster layout (`torch_best_layout`)
 *   options: --json (one JSON object), --quick (tiny smoke run), --steps N, --micro-batch N (ResNet-50 training),
 *            --rounds N (project and PyTorch alternate N times per case, best round of each kept; default 3 with
 *            --vs-torch),
 *            --models resnet20,resnet50 (run only these cases),
 *            --no-native (wasm's own kernels: DAFT_NATIVE=0), --no-profile,
 *            --torch-passive (an extra column: PyTorch NCHW with OMP_WAIT_POLICY=PASSIVE, which helps it on a loaded
 *            machine but halves its inference on an idle one; never the reference)
 * MobileNetV2 is the TF.js layers model in /work/shared/data/models/mobilenetv2-tm (DAFT_BENCH_MOBILENET overrides) on
 * the project side and torchvision's mobilenet_v2(width_mult=0.35) on PyTorch's.
 * Every case runs in a fresh child process (this script with --child), so peak RSS is per case and the wasm heap
 * (which never shrinks) starts empty.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runChild, type CaseSpec, type ChildResult } from './bench-engine-child'

const here = dirname(fileURLToPath(import.meta.url))
const argv = process.argv.slice(2)
const flag = (name: string): boolean => argv.includes(`--${name}`)
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : undefined
}

interface CaseRow {
  model: string
  image_size: number
  batch: number
  mode: 'train' | 'infer'
  micro_batch?: number
  backend: string
  project_img_s: number
  /** PyTorch at its best: the faster of its two memory formats, default threading */
  torch_img_s: number | null
  torch_best_layout: 'nchw' | 'channels_last' | null
  torch_nchw_img_s: number | null
  torch_channels_last_img_s: number | null
  /** NCHW with OMP_WAIT_POLICY=PASSIVE (--torch-passive only; not the reference) */
  torch_passive_img_s?: number | null
  ratio: number | null
  /** images per CPU-second (all threads of the process) and their ratio: load-independent efficiency */
  project_cpu_img_s: number
  torch_cpu_img_s: number | null
  cpu_ratio: number | null
  peak_rss_mb: number
  torch_peak_rss_mb: number | null
  bn_batch_size?: number | null
  rss_after_step_mb?: number[]
  tensors_after_step?: number[]
  conversion_ratio?: number
  device: string
  load_avg: string
}

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')

function spawnProject(spec: CaseSpec): ChildResult {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', JSON.stringify(spec)], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  })
  const line = r.stdout.split('\n').find((l) => l.startsWith('{"result"'))
  if (r.status !== 0 || !line) {
    throw new Error(`bench-engine: the project case ${JSON.stringify(spec)} failed (exit ${r.status ?? r.signal}):\n${r.stderr.slice(-3000)}`)
  }
  return (JSON.parse(line) as { result: ChildResult }).result
}

function torchAvailable(): boolean {
  return spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0
}

type TorchLayout = 'nchw' | 'channels_last'
interface TorchResult {
  img_s: number
  cpu_img_s: number
  peak_rss_mb: number
  layout: TorchLayout
}

/** PyTorch with its default threading (OMP_WAIT_POLICY removed from the environment unless `passive`). */
function spawnTorch(spec: CaseSpec, layout: TorchLayout, passive = false): TorchResult {
  const args = [join(here, 'ref', 'bench_torch.py'), '--model', spec.model, '--image-size', String(spec.imageSize), '--batch', String(spec.batch), '--mode', spec.mode, '--steps', String(spec.steps), '--warmup', String(spec.warmup), '--threads', '2']
  if (spec.microBatch) args.push('--micro-batch', String(spec.microBatch))
  if (layout === 'channels_last') args.push('--channels-last')
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.OMP_WAIT_POLICY
  if (passive) env.OMP_WAIT_POLICY = 'PASSIVE'
  const r = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', env })
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'))
  if (r.status !== 0 || !line) throw new Error(`bench-engine: PyTorch case ${spec.model} ${spec.mode} (${layout}) failed:\n${r.stderr.slice(-2000)}`)
  return { ...(JSON.parse(line) as Omit<TorchResult, 'layout'>), layout }
}

const best = <T extends { img_s: number }>(xs: T[]): T | null => (xs.length ? xs.reduce((a, b) => (b.img_s > a.img_s ? b : a)) : null)

function cases(vsTorch: boolean, quick: boolean): CaseSpec[] {
  const steps = Number(opt('steps') ?? (quick ? 1 : 3))
  const micro = Number(opt('micro-batch') ?? 8)
  const base = { steps, warmup: 1, backend: 'wasm' }
  if (quick) {
    const list: CaseSpec[] = [
      { ...base, model: 'resnet20', imageSize: 32, batch: 16, mode: 'train', profile: !flag('no-profile') },
      { ...base, model: 'resnet20', imageSize: 32, batch: 16, mode: 'infer', conversion: true },
    ]
    if (vsTorch) list.push({ ...base, model: 'resnet18', imageSize: 64, batch: 8, mode: 'infer' }, { ...base, model: 'resnet50', imageSize: 224, batch: 2, mode: 'infer' })
    return list
  }
  if (!vsTorch) {
    // the cpu backend (plain JavaScript) is far slower (~0.08 training images/s): one step without warm-up, and
    // training at batch 16 (a batch-64 step takes ~15 minutes there)
    return ['wasm', 'cpu'].flatMap((backend): CaseSpec[] => {
      const cpu = backend === 'cpu'
      const b = cpu ? { ...base, backend, steps: 1, warmup: 0 } : { ...base, backend }
      return [
        { ...b, model: 'resnet20', imageSize: 32, batch: cpu ? 16 : 64, mode: 'train', profile: !cpu && !flag('no-profile') },
        { ...b, model: 'resnet20', imageSize: 32, batch: 64, mode: 'infer', conversion: true },
      ]
    })
  }
  // measured stretches of >= ~1 s per case on this 2-core machine (a 3-batch ResNet-20 inference lasts ~0.2 s and
  // moves +-30 % with the machine's other load); --steps overrides
  const n = (fallback: number): number => Number(opt('steps') ?? fallback)
  return [
    { ...base, steps: n(8), warmup: 2, model: 'resnet20', imageSize: 32, batch: 64, mode: 'train', profile: !flag('no-profile') },
    { ...base, steps: n(20), warmup: 2, model: 'resnet20', imageSize: 32, batch: 64, mode: 'infer' },
    { ...base, steps: n(4), model: 'resnet18', imageSize: 64, batch: 64, mode: 'train' },
    { ...base, steps: n(8), model: 'resnet18', imageSize: 64, batch: 64, mode: 'infer' },
    // ResNet-50 @224: one optimizer step of 64 images, accumulated over micro-batches (wasm's 4 GB heap)
    // three optimizer steps (RSS after each shows whether memory grows), one round: ~1-2 minutes per side
    { ...base, model: 'resnet50', imageSize: 224, batch: 64, mode: 'train', microBatch: micro, steps: n(3), warmup: 0, rounds: 1 },
    { ...base, steps: n(4), model: 'resnet50', imageSize: 224, batch: 8, mode: 'infer' },
    // MobileNetV2 (alpha 0.35) @224: depthwise convolutions and ReLU6
    { ...base, steps: n(3), model: 'mobilenetv2', imageSize: 224, batch: 32, mode: 'train', rounds: 2, profile: !flag('no-profile') },
    { ...base, steps: n(4), model: 'mobilenetv2', imageSize: 224, batch: 32, mode: 'infer' },
  ]
}

function fmt(v: number | null | undefined, digits = 1): string {
  return v == null ? '-' : v.toFixed(digits)
}

async function main(): Promise<void> {
  const childSpec = opt('child')
  if (childSpec) {
    const result = await runChild(JSON.parse(childSpec) as CaseSpec)
    process.stdout.write(JSON.stringify({ result }) + '\n')
    return
  }
  const json = flag('json')
  const vsTorch = flag('vs-torch')
  const log = (s: string): void => {
    if (!json) console.log(s)
    else process.stderr.write(s + '\n')
  }
  if (flag('no-native')) process.env.DAFT_NATIVE = '0' // inherited by every case's child process
  const withTorch = vsTorch && torchAvailable()
  if (vsTorch && !withTorch) log('PyTorch is not available to /usr/bin/python3: printing the project side only')
  const rows: CaseRow[] = []
  const profiles: Record<string, unknown> = {}
  log(`load average at start: ${loadavg()}`)
  const only = opt('models')?.split(',')
  const rounds = Math.max(1, Number(opt('rounds') ?? (vsTorch && !flag('quick') ? 3 : 1)))
  for (const spec of cases(vsTorch, flag('quick')).filter((c) => !only || only.includes(c.model))) {
    const label = `${spec.model} ${spec.imageSize}x${spec.imageSize} batch ${spec.batch}${spec.microBatch ? ` (micro ${spec.microBatch})` : ''} ${spec.mode} [${spec.backend}]`
    log(`running ${label} ...`)
    const load = loadavg()
    // alternate project and PyTorch `rounds` times and keep each side's best round: both see the same machine, and the
    // best of a few rounds is the least disturbed by other load
    const ps: ChildResult[] = []
    const ts: TorchResult[] = []
    const passive: TorchResult[] = []
    const caseRounds = spec.rounds ?? rounds
    for (let r = 0; r < caseRounds; r++) {
      ps.push(spawnProject(r === 0 ? spec : { ...spec, profile: false, conversion: false }))
      if (withTorch) {
        // alternate which layout goes first, so neither always follows the project's run
        const order: TorchLayout[] = r % 2 === 0 ? ['nchw', 'channels_last'] : ['channels_last', 'nchw']
        for (const layout of order) ts.push(spawnTorch(spec, layout))
        if (flag('torch-passive')) passive.push(spawnTorch(spec, 'nchw', true))
      }
    }
    const p = { ...ps.reduce((a, b) => (b.imgPerSec > a.imgPerSec ? b : a)), profile: ps[0].profile, conversion: ps[0].conversion }
    const nchw = best(ts.filter((x) => x.layout === 'nchw'))
    const cl = best(ts.filter((x) => x.layout === 'channels_last'))
    const t = best(ts)
    const tp = best(passive)
    if (caseRounds > 1 || withTorch) {
      const list = (xs: TorchResult[], layout: TorchLayout): string => xs.filter((x) => x.layout === layout).map((x) => fmt(x.img_s)).join(', ')
      log(`  rounds: project ${ps.map((x) => fmt(x.imgPerSec)).join(', ')}` + (withTorch ? ` | torch NCHW ${list(ts, 'nchw')} | torch channels_last ${list(ts, 'channels_last')}` : '') + (tp ? ` | torch PASSIVE ${passive.map((x) => fmt(x.img_s)).join(', ')}` : '') + ' img/s')
    }
    const row: CaseRow = {
      model: spec.model, image_size: spec.imageSize, batch: spec.batch, mode: spec.mode, backend: spec.backend,
      project_img_s: p.imgPerSec, torch_img_s: t ? t.img_s : null, torch_best_layout: t ? t.layout : null,
      torch_nchw_img_s: nchw ? nchw.img_s : null, torch_channels_last_img_s: cl ? cl.img_s : null, ratio: t ? p.imgPerSec / t.img_s : null,
      project_cpu_img_s: p.cpuImgPerSec, torch_cpu_img_s: t ? t.cpu_img_s : null, cpu_ratio: t ? p.cpuImgPerSec / t.cpu_img_s : null,
      peak_rss_mb: p.peakRssMb, torch_peak_rss_mb: t ? t.peak_rss_mb : null, device: p.device, load_avg: `${load} -> ${loadavg()}`,
    }
    if (flag('torch-passive')) row.torch_passive_img_s = tp ? tp.img_s : null
    if (spec.microBatch) row.micro_batch = spec.microBatch
    if (spec.mode === 'train') {
      row.bn_batch_size = p.bnBatchSize
      row.rss_after_step_mb = p.rssAfterStepMb
      row.tensors_after_step = p.tensorsAfterStep
    }
    if (p.conversion) row.conversion_ratio = p.conversion.ratio
    rows.push(row)
    if (p.profile) profiles[label] = p.profile
    if (rows.length === 1) log(`  device: ${p.device}`)
    log(
      `  project ${fmt(p.imgPerSec)} img/s` + (t ? ` | torch best ${fmt(t.img_s)} img/s (${t.layout}) | ratio ${fmt(row.ratio, 2)}` : '') +
        ` | per CPU-second: project ${fmt(p.cpuImgPerSec)}` + (t ? `, torch ${fmt(t.cpu_img_s)}, ratio ${fmt(row.cpu_ratio, 2)}` : '') +
        ` | peak RSS ${fmt(p.peakRssMb, 0)} MB` + (t ? ` (torch ${fmt(t.peak_rss_mb, 0)} MB)` : '') +
        (spec.mode === 'train' ? ` | BN batch ${p.bnBatchSize}` : '') + ` | load ${row.load_avg}`,
    )
    if (p.rssAfterStepMb) log(`  RSS after each step: ${p.rssAfterStepMb.join(', ')} MB; live tensors: ${p.tensorsAfterStep?.join(', ')}`)
    if (p.conversion) {
      log(`  BN conversion over ${p.conversion.images} images: ${fmt(p.conversion.convertMs, 0)} ms vs one eval pass ${fmt(p.conversion.evalMs, 0)} ms -> ratio ${fmt(p.conversion.ratio, 2)}`)
    }
    if (p.profile && !json) {
      log(`  profile of one training step (${p.profile.totalMs.toFixed(0)} ms of kernels; forward ${p.profile.forwardMs.toFixed(0)} ms, backward ${p.profile.backwardMs.toFixed(0)} ms):`)
      log(`    ${'kernel'.padEnd(34)} ${'fwd ms'.padStart(8)} ${'n'.padStart(4)} ${'bwd ms'.padStart(8)} ${'n'.padStart(4)}`)
      for (const k of p.profile.kernels.slice(0, 20)) {
        log(`    ${k.name.padEnd(34)} ${k.forwardMs.toFixed(1).padStart(8)} ${String(k.forwardCount).padStart(4)} ${k.backwardMs.toFixed(1).padStart(8)} ${String(k.backwardCount).padStart(4)}`)
      }
    }
  }
  log(`load average at end: ${loadavg()}`)
  if (json) {
    console.log(JSON.stringify({ load_avg_end: loadavg(), torch: withTorch, cases: rows, profiles }))
    return
  }
  console.log('\nratio = project / PyTorch at its best (faster of NCHW and channels_last, default threading)')
  console.log('model       size     batch  mode   backend  project img/s  torch NCHW  torch CL  best  ratio  cpu-time ratio  peak RSS MB  load')
  for (const r of rows) {
    console.log(
      `${r.model.padEnd(11)} ${`${r.image_size}x${r.image_size}`.padEnd(8)} ${String(r.batch + (r.micro_batch ? `/${r.micro_batch}` : '')).padEnd(6)} ${r.mode.padEnd(6)} ${r.backend.padEnd(8)} ` +
        `${fmt(r.project_img_s).padStart(13)}  ${fmt(r.torch_nchw_img_s).padStart(10)}  ${fmt(r.torch_channels_last_img_s).padStart(8)}  ${(r.torch_best_layout === 'channels_last' ? 'CL' : r.torch_best_layout === 'nchw' ? 'NCHW' : '-').padStart(4)}  ${fmt(r.ratio, 2).padStart(5)}  ${fmt(r.cpu_ratio, 2).padStart(14)}  ${fmt(r.peak_rss_mb, 0).padStart(11)}  ${r.load_avg}`,
    )
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e)
  process.exit(1)
})
