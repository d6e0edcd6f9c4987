/** Feature-distortion analysis: feature similarity (Fig. 1), relative change (Eq. 6, Fig. 2), domain shift, corruptions (Table 4).
 *  Galleries (Figs. 6-9) are SQL over the stored per-image table: store/analysis.ts. */
export * from './featureSimilarity'
export * from './relativeChange'
export * from './domainShift'
export * from './corruptions'
