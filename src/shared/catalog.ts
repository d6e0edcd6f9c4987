/**
 * What registering in the catalog answers (`datasets.register`, `models.register`, `experiments.registerCatalog`):
 * entries are told apart by real path and content fingerprint (src/main/services/catalog.ts says how).
 */
import type { DatasetDetail, ModelSummary } from './types'

/** added: new entry; updated: the same folder or file with new content, imported again; reused: the project holds this content */
export type RegisterStatus = 'added' | 'updated' | 'reused'

export interface DatasetRegistration {
  status: RegisterStatus
  dataset: DatasetDetail
  fingerprint: string
}

export interface ModelRegistration {
  status: RegisterStatus
  model: ModelSummary
  fingerprint: string
}

export interface ExperimentCatalogEntry {
  /** 'id', or the OOD set's name */
  set: string
  root: string
  status?: RegisterStatus
  dataset?: DatasetDetail
  error?: string
}

/** What an experiment names, registered: each dataset and the model, or why one could not be. */
export interface ExperimentCatalog {
  datasets: ExperimentCatalogEntry[]
  model: { path: string; status?: RegisterStatus; model?: ModelSummary; error?: string }
}
