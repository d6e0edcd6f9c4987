import type { RunStatus } from '@shared/experiments'

export const CANCELLABLE: readonly RunStatus[] = ['queued', 'running']
export const RESUMABLE: readonly RunStatus[] = ['cancelled', 'failed', 'interrupted']
