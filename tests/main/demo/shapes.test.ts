/** The demo's drawing code: seeded, the two tasks' classes, shapes that differ, styles that shift what they should. */
import { describe, expect, it } from 'vitest'
import { DEMO_CLASSES, DEMO_SIZE, DEMO_SOURCE_CLASSES, DEMO_STYLES, classesOf, drawShape, imageSeed, inside, type DemoShape, type DemoStyle } from '../../../src/main/demo/shapes'

const N = DEMO_SIZE * DEMO_SIZE

/** mean of each channel and mean absolute difference between channels (0 for grey) */
function stats(data: Uint8Array): { mean: number; chroma: number } {
  let sum = 0
  let chroma = 0
  for (let i = 0; i < N; i++) {
    const [r, g, b] = [data[3 * i], data[3 * i + 1], data[3 * i + 2]]
    sum += (r + g + b) / 3
    chroma += (Math.abs(r - g) + Math.abs(g - b) + Math.abs(b - r)) / 3
  }
  return { mean: sum / N, chroma: chroma / N }
}

function average(style: DemoStyle, what: (d: Uint8Array) => number, n = 40): number {
  let s = 0
  for (let i = 0; i < n; i++) s += what(drawShape(classesOf(style)[i % classesOf(style).length], style, imageSeed(style, 'test', 'x', i)).data)
  return s / n
}

describe('demo shapes', () => {
  it('has a ten-shape source task and a five-shape target task drawn from it; source is the pretraining style', () => {
    expect(DEMO_SOURCE_CLASSES).toHaveLength(10)
    expect([...DEMO_SOURCE_CLASSES].sort()).toEqual([...DEMO_SOURCE_CLASSES]) // ImageFolder labels are sorted folder names
    expect(DEMO_CLASSES).toEqual(['circle', 'cross', 'square', 'star', 'triangle'])
    for (const c of DEMO_CLASSES) expect(DEMO_SOURCE_CLASSES).toContain(c)
    expect(DEMO_STYLES).toEqual(['source', 'color', 'texture', 'stroke'])
    expect(classesOf('source')).toBe(DEMO_SOURCE_CLASSES)
    for (const s of DEMO_STYLES.slice(1)) expect(classesOf(s)).toBe(DEMO_CLASSES)
  })

  it('draws the same image for the same seed, another for another seed, labelled by the style\'s classes', () => {
    const a = drawShape('star', 'color', 7)
    expect(a.data).toHaveLength(N * 3)
    expect(drawShape('star', 'color', 7).data).toEqual(a.data)
    expect(drawShape('star', 'color', 8).data).not.toEqual(a.data)
    expect(a.label).toBe(DEMO_CLASSES.indexOf('star'))
    expect(drawShape('star', 'source', 7).label).toBe(DEMO_SOURCE_CLASSES.indexOf('star'))
    expect(imageSeed('color', 'train', 'star', 3)).toBe(imageSeed('color', 'train', 'star', 3))
    expect(imageSeed('color', 'train', 'star', 3)).not.toBe(imageSeed('color', 'test', 'star', 3))
  })

  it('gives every shape a clear area and no two shapes the same silhouette (ring vs circle: the hole, IoU 0.80)', () => {
    const mask = (c: DemoShape): boolean[] => {
      const m: boolean[] = []
      for (let y = -1; y <= 1; y += 0.05) for (let x = -1; x <= 1; x += 0.05) m.push(inside(c, x, y) > 0)
      return m
    }
    const masks = DEMO_SOURCE_CLASSES.map(mask)
    for (const [i, m] of masks.entries()) {
      const area = m.filter(Boolean).length / m.length
      expect(area, DEMO_SOURCE_CLASSES[i]).toBeGreaterThan(0.08)
      expect(area, DEMO_SOURCE_CLASSES[i]).toBeLessThan(0.7)
    }
    for (let i = 0; i < masks.length; i++) {
      for (let j = i + 1; j < masks.length; j++) {
        const inter = masks[i].filter((v, k) => v && masks[j][k]).length
        const union = masks[i].filter((v, k) => v || masks[j][k]).length
        expect(inter / union, `${DEMO_SOURCE_CLASSES[i]} vs ${DEMO_SOURCE_CLASSES[j]}`).toBeLessThan(0.85)
      }
    }
  })

  it('shifts the styles as documented: grey source, colour ID, pale stroke images with little ink', () => {
    const chroma = (d: Uint8Array): number => stats(d).chroma
    expect(average('source', chroma)).toBeLessThan(12) // grey (plus per-channel noise)
    expect(average('color', chroma)).toBeGreaterThan(40)
    expect(average('texture', chroma)).toBeGreaterThan(25)
    expect(average('stroke', (d) => stats(d).mean)).toBeGreaterThan(170) // pale paper, thin dark outline
    // an outline covers less of the image than the filled shape in the same pose
    const ink = (style: DemoStyle): number => average(style, (d) => { let dark = 0; for (let i = 0; i < N; i++) if (d[3 * i] + d[3 * i + 1] + d[3 * i + 2] < 3 * 110) dark++; return dark / N })
    expect(ink('stroke')).toBeLessThan(0.25)
    expect(ink('stroke')).toBeGreaterThan(0.03)
  })
})
