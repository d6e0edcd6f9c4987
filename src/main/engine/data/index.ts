/** Datasets: folder index, import (+ report), sharp decoding, transforms, cache, prefetching loader. */
export { indexImageFolder, byName, type FolderIndex, type IndexedFile, type IndexOptions } from './folder'
export { importDataset, detectLayout, summariseSizes, type DatasetImport, type ImportOptions, type Sample, type SplitName } from './import'
export { alignClasses, stratifiedSplit, type ClassAlignment } from './split'
export { decodeImage, probeImage, DEFAULT_PIXEL_LIMIT, SUPPORTED_EXTENSIONS, type DecodeOptions, type ImageHeader } from './decode'
export { createLoader, compilePipeline, defaultWorkerCount, type Batch, type DataLoader, type LoaderOptions, type LoaderStats } from './loader'
export { applyTransform } from './transforms'
export { cacheSize, clearCache } from './cache'
export type { RawImage, BatchFailure, PipelineSpec } from './batchIo'
