/** Feature-distortion analysis: feature similarity (Fig. 1), relative change (Eq. 6, Fig. 2), galleries (Figs. 6-9), domain shift, corruptions (Table 4). */
export * from './featureSimilarity'
export * from './relativeChange'
export * from './galleries'
export * from './domainShift'
export * from './corruptions'
