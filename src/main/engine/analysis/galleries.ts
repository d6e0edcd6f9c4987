/**
 * Galleries of the paper's appendix (Figs. 6-9): per class and per eval set, the k images whose
 * features moved least (highest cosine similarity before vs after fine-tuning) and the k that moved
 * most (lowest). Pure function over per-image arrays; ties are broken by the sample index so the
 * result is deterministic. Classes are the true labels.
 */

export interface GalleryInput {
  /** per image cosine similarity */
  cosine: ArrayLike<number>
  /** per image true label (images with label < 0 are skipped) */
  label: ArrayLike<number>
  /** per image eval-mode prediction before / after fine-tuning (-1 or missing = unknown) */
  predBefore?: ArrayLike<number>
  predAfter?: ArrayLike<number>
  /** per image sample index (into the set's sample list); default the position */
  index?: ArrayLike<number>
}

export interface GalleryItem {
  /** sample index */
  index: number
  cosine: number
  label: number
  predBefore: number
  predAfter: number
}

export interface ClassGallery {
  label: number
  /** images of this class */
  count: number
  /** ascending cosine: lowest[0] is the most distorted */
  lowest: GalleryItem[]
  /** descending cosine: highest[0] is the least distorted */
  highest: GalleryItem[]
}

export interface SetGallery {
  set: string
  classes: ClassGallery[]
}

/** Per class: the k lowest and k highest cosine similarities (fewer if a class has fewer than k images). */
export function classGalleries(input: GalleryInput, k: number): ClassGallery[] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`galleries: k must be a positive integer (got ${k})`)
  const n = input.cosine.length
  for (const [name, arr] of [['label', input.label], ['predBefore', input.predBefore], ['predAfter', input.predAfter], ['index', input.index]] as const) {
    if (arr && arr.length !== n) throw new Error(`galleries: ${name} has ${arr.length} entries, cosine ${n}`)
  }
  const byClass = new Map<number, GalleryItem[]>()
  for (let i = 0; i < n; i++) {
    const label = input.label[i]
    if (!(label >= 0)) continue
    const cosine = input.cosine[i]
    if (Number.isNaN(cosine)) throw new Error(`galleries: cosine of image ${input.index ? input.index[i] : i} is NaN`)
    let list = byClass.get(label)
    if (!list) byClass.set(label, (list = []))
    list.push({
      index: input.index ? input.index[i] : i,
      cosine,
      label,
      predBefore: input.predBefore ? input.predBefore[i] : -1,
      predAfter: input.predAfter ? input.predAfter[i] : -1,
    })
  }
  return [...byClass.keys()]
    .sort((a, b) => a - b)
    .map((label) => {
      const items = byClass.get(label)!
      items.sort((a, b) => a.cosine - b.cosine || a.index - b.index)
      const lowest = items.slice(0, k)
      const highest: GalleryItem[] = []
      // highest first; among equal cosines the lower index first (same tie rule as `lowest`)
      for (let i = items.length - 1; i >= 0 && highest.length < k; ) {
        let j = i
        while (j > 0 && items[j - 1].cosine === items[i].cosine) j--
        for (let t = j; t <= i && highest.length < k; t++) highest.push(items[t])
        i = j - 1
      }
      return { label, count: items.length, lowest, highest }
    })
}

/** Galleries of several eval sets (e.g. { 'cifar10 test': ..., 'stl': ... }). */
export function galleries(sets: Record<string, GalleryInput>, k: number): SetGallery[] {
  return Object.entries(sets).map(([set, input]) => {
    try {
      return { set, classes: classGalleries(input, k) }
    } catch (e) {
      throw new Error(`set '${set}': ${(e as Error).message}`, { cause: e })
    }
  })
}
