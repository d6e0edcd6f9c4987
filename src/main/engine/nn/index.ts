/** The module layer: PyTorch names and semantics over tfjs (NHWC inside). See module.ts. */
export * from './module'
export * from './batchnorm'
export * from './layers'
export * from './containers'
export * from './init'
export * from './fold'
