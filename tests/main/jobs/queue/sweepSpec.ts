/**
 * The small sweep the queue tests and `npm run bench:queue` run: the demo's shapes (200 training images, 2 epochs),
 * FT once and DAFT's two-step sweep (step 1: one eta_theta; step 2: one more eta_w; then the final run), so step 2 and
 * the final run are queued only when the runs before them are done, whichever worker trained them.
 */
import type { ExperimentSpec, RunSummary } from '../../../../src/shared/experiments'
import { DEMO_LR, demoExperiment } from '../../../../src/main/services/demo'

export function queueSweepSpec(dataDir: string, resources: string, name = 'queue sweep'): ExperimentSpec {
  const base = demoExperiment(dataDir, resources, { epochs: 2, seeds: [0] })
  return {
    ...base,
    name,
    methods: base.methods.filter((m) => m.method === 'FT' || m.method === 'DAFT'),
    data: { ...base.data, id: { ...base.data.id, limits: { train: 200, test: 60 } }, ood: { stroke: { ...base.data.ood.stroke, limit: 60 } } },
    sweep: { lr: { DAFT: [DEMO_LR.DAFT.backbone] }, daftStep1HeadLr: DEMO_LR.DAFT.head, daftHeadLr: [DEMO_LR.DAFT.head, DEMO_LR.DAFT.head / 2], sweepSeed: 0 },
  }
}

/** A run's place in the sweep, the same in every store: method, role, rates, seed. */
export function runKey(r: Pick<RunSummary, 'method' | 'role' | 'lr' | 'seed'>): string {
  return `${r.method} ${r.role} ${r.lr.backbone}/${r.lr.head} seed ${r.seed}`
}
