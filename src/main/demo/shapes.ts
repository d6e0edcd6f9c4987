/**
 * The built-in demo's synthetic domain-shift data: 32x32 RGB images of shapes. Pure, seeded, no tensors.
 *
 * Two tasks share one drawing code:
 *  - the SOURCE task the demo CNN is pretrained on (scripts/generate-demo.ts): all ten shapes of
 *    DEMO_SOURCE_CLASSES in grey renderings (light on dark, dark on light, and either one on a noisy, shaded
 *    background), so the features it learns are about shape, not about one colour scheme;
 *  - the TARGET task the demo fine-tunes on: five of those shapes (DEMO_CLASSES), in shifted styles.
 *
 * styles (DEMO_STYLES; the first is the pretraining style):
 *  - source:  grey renderings of the ten source shapes (above)
 *  - color:   the ID style: a saturated shape on a background of another hue (half bright on dark, half dark
 *             on a pale tint): colour, which the grey source never had
 *  - texture: an OOD style: a light shape over a striped or checkered, coloured, noisy background
 *  - stroke:  an OOD style: the outline only (no fill), dark ink on pale paper
 */
export const DEMO_SOURCE_CLASSES = ['arrow', 'bowtie', 'circle', 'crescent', 'cross', 'heart', 'ring', 'square', 'star', 'triangle'] as const
export type DemoShape = (typeof DEMO_SOURCE_CLASSES)[number]
/** the target task's classes: five of the source shapes */
export const DEMO_CLASSES = ['circle', 'cross', 'square', 'star', 'triangle'] as const satisfies readonly DemoShape[]
export type DemoClass = (typeof DEMO_CLASSES)[number]
export const DEMO_STYLES = ['source', 'color', 'texture', 'stroke'] as const
export type DemoStyle = (typeof DEMO_STYLES)[number]
export const DEMO_SIZE = 32

/** The classes drawn in a style: the source style has all ten shapes, the target styles the five of the task. */
export function classesOf(style: DemoStyle): readonly DemoShape[] {
  return style === 'source' ? DEMO_SOURCE_CLASSES : DEMO_CLASSES
}

/** mulberry32: small, fast, seeded */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Signed "inside" measure in shape-local coordinates (u, v in about [-1, 1]): > 0 inside, about a distance. */
export function inside(cls: DemoShape, u: number, v: number): number {
  switch (cls) {
    case 'circle':
      return 0.9 - Math.hypot(u, v)
    case 'square':
      return 0.78 - Math.max(Math.abs(u), Math.abs(v))
    case 'cross':
      return Math.min(Math.max(0.28 - Math.abs(u), 0.28 - Math.abs(v)), 0.95 - Math.max(Math.abs(u), Math.abs(v)))
    case 'triangle': {
      // equilateral, inradius 0.5: distance to the nearest of three edges with outward normals at 90, 210, 330 deg
      const k = Math.sqrt(3) / 2
      return 0.5 - Math.max(v, -k * u - 0.5 * v, k * u - 0.5 * v)
    }
    case 'star': {
      const r = Math.hypot(u, v)
      const th = Math.atan2(v, u)
      return 0.55 + 0.4 * Math.cos(5 * th) - r
    }
    case 'ring':
      return 0.25 - Math.abs(Math.hypot(u, v) - 0.65)
    case 'crescent':
      // a disc minus a shifted disc
      return Math.min(0.9 - Math.hypot(u, v), Math.hypot(u - 0.45, v) - 0.7)
    case 'heart': {
      // two lobes and a point: union of two discs and a downward triangle
      const lobes = Math.max(0.45 - Math.hypot(u + 0.38, v + 0.3), 0.45 - Math.hypot(u - 0.38, v + 0.3))
      const k = 0.8
      const tri = Math.min(v + 0.35, k * (0.85 - v) - Math.abs(u) * 0.9)
      return Math.max(lobes, tri)
    }
    case 'arrow': {
      // a shaft to the left, a head to the right
      const shaft = Math.min(0.16 - Math.abs(v), Math.min(u + 0.9, 0.2 - u))
      const head = Math.min(u - 0.05, 0.75 * (0.85 - u) - Math.abs(v) * 0.7)
      return Math.max(shaft, head)
    }
    case 'bowtie': {
      // two triangles meeting at their tips
      const a = Math.abs(u)
      return Math.min(a * 0.85 - Math.abs(v) * 0.75 + 0.02, 0.85 - a, 0.75 - Math.abs(v))
    }
  }
}

export interface DrawnImage {
  data: Uint8Array // RGB, row-major, DEMO_SIZE x DEMO_SIZE x 3
  label: number
}

type RGB = [number, number, number]

/** Draws one image of `shape` in `style`, fully determined by `seed`; label = index in classesOf(style). */
export function drawShape(shape: DemoShape, style: DemoStyle, seed: number): DrawnImage {
  const r = rng(seed)
  const S = DEMO_SIZE
  const scale = 8 + r() * 4
  const cx = S / 2 + (r() - 0.5) * 8
  const cy = S / 2 + (r() - 0.5) * 8
  const rot = r() * Math.PI * 2
  const cos = Math.cos(rot)
  const sin = Math.sin(rot)

  let fg: RGB
  let bg: RGB
  let noiseAmp = 10
  let outline = 0 // > 0: draw only a stroke of this half-width (shape units)
  let pattern: ((x: number, y: number) => number) | null = null
  let bg2: RGB = [0, 0, 0]
  let shade = 0 // amplitude of a linear background gradient
  const shadeDir = r() * Math.PI * 2
  switch (style) {
    case 'source': {
      const mode = Math.floor(r() * 4)
      const light = 170 + r() * 85
      const dark = r() * 80
      const lightOnDark = mode % 2 === 0
      fg = grey(lightOnDark ? light : dark)
      bg = grey(lightOnDark ? dark : light)
      if (mode >= 2) {
        noiseAmp = 50
        shade = 50
      }
      break
    }
    case 'color': {
      // a hue for the shape, another for the background; half bright on dark, half dark on a pale tint
      const hue = r()
      const other = (hue + 0.3 + r() * 0.4) % 1
      if (r() < 0.5) {
        fg = hsv(hue, 0.8 + r() * 0.2, 0.85 + r() * 0.15)
        bg = hsv(other, 0.6 + r() * 0.3, 0.25 + r() * 0.2)
      } else {
        fg = hsv(hue, 0.8 + r() * 0.2, 0.3 + r() * 0.2)
        bg = hsv(other, 0.2 + r() * 0.3, 0.8 + r() * 0.15)
      }
      noiseAmp = 12
      break
    }
    case 'texture': {
      fg = grey(215 + r() * 40)
      const h = r()
      bg = hsv(h, 0.5 + r() * 0.3, 0.35 + r() * 0.2)
      bg2 = hsv((h + 0.5) % 1, 0.5 + r() * 0.3, 0.45 + r() * 0.2)
      const period = 3 + Math.floor(r() * 3)
      const kind = Math.floor(r() * 3)
      pattern = kind === 0 ? (x, y) => Math.floor((x + y) / period) % 2 : kind === 1 ? (x, y) => (Math.floor(x / period) + Math.floor(y / period)) % 2 : (_x, y) => Math.floor(y / period) % 2
      noiseAmp = 30
      break
    }
    case 'stroke': {
      fg = [25 + r() * 30, 25 + r() * 30, 40 + r() * 40]
      bg = [220 + r() * 30, 210 + r() * 30, 180 + r() * 30]
      outline = 0.15 + r() * 0.06
      noiseAmp = 12
      break
    }
  }

  const data = new Uint8Array(S * S * 3)
  const sx = Math.cos(shadeDir) / S
  const sy = Math.sin(shadeDir) / S
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const dx = x + 0.5 - cx
      const dy = y + 0.5 - cy
      const u = (cos * dx + sin * dy) / scale
      const v = (-sin * dx + cos * dy) / scale
      const d = inside(shape, u, v)
      // anti-aliased coverage
      const cover = outline > 0 ? clamp01((outline - Math.abs(d)) * scale + 0.5) : clamp01(d * scale + 0.5)
      const base = pattern && pattern(x, y) ? bg2 : bg
      const g = shade * ((x - S / 2) * sx + (y - S / 2) * sy)
      for (let c = 0; c < 3; c++) {
        const n = (r() - 0.5) * noiseAmp
        const val = (base[c] + g) * (1 - cover) + fg[c] * cover + n
        data[(y * S + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(val)))
      }
    }
  }
  return { data, label: classesOf(style).indexOf(shape) }
}

function grey(v: number): RGB {
  return [v, v, v]
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x
}

function hsv(h: number, s: number, v: number): RGB {
  const i = Math.floor(h * 6)
  const f = h * 6 - i
  const p = v * (1 - s)
  const q = v * (1 - f * s)
  const t = v * (1 - (1 - f) * s)
  const [r, g, b] = (
    [
      [v, t, p],
      [q, v, p],
      [p, v, t],
      [p, q, v],
      [t, p, v],
      [v, p, q],
    ] as const
  )[i % 6]
  return [r * 255, g * 255, b * 255]
}

/** Seed of image i of a class in a style and split: stable across runs and machines. */
export function imageSeed(style: DemoStyle, split: string, cls: string, i: number): number {
  let h = 2166136261
  for (const ch of `${style}/${split}/${cls}/${i}`) {
    h ^= ch.charCodeAt(0)
    h = Math.imul(h, 16777619)
  }
  return h >>> 0
}
