/**
 * The built-in demo's synthetic domain-shift data: 32x32 RGB images of 5 shape classes, drawn in a
 * source style (what the demo CNN is pretrained on) and shifted target styles. Pure, seeded, no tensors.
 *
 * styles:
 *  - source:  white filled shape on a dark background, mild noise
 *  - color:   shapes in random saturated colours on a dark background of another hue (colour shift)
 *  - texture: white shapes over a striped / checkered, noisy background (texture shift)
 *  - stroke:  outlines only, thin stroke, inverted contrast (stroke + background shift)
 */
export const DEMO_CLASSES = ['circle', 'cross', 'square', 'star', 'triangle'] as const
export type DemoClass = (typeof DEMO_CLASSES)[number]
export const DEMO_STYLES = ['source', 'color', 'texture', 'stroke'] as const
export type DemoStyle = (typeof DEMO_STYLES)[number]
export const DEMO_SIZE = 32

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

/** Signed "inside" measure in shape-local coordinates (u, v in about [-1, 1]): > 0 inside. */
function inside(cls: DemoClass, u: number, v: number): number {
  switch (cls) {
    case 'circle':
      return 1 - Math.hypot(u, v)
    case 'square':
      return 0.85 - Math.max(Math.abs(u), Math.abs(v))
    case 'cross':
      return Math.min(Math.max(0.3 - Math.abs(u), 0.3 - Math.abs(v)), 1 - Math.max(Math.abs(u), Math.abs(v)))
    case 'triangle': {
      // equilateral, inradius 0.5: distance to the nearest of three edges with outward normals at 90, 210, 330 deg
      const k = Math.sqrt(3) / 2
      return 0.5 - Math.max(v, -k * u - 0.5 * v, k * u - 0.5 * v)
    }
    case 'star': {
      const r = Math.hypot(u, v)
      const th = Math.atan2(v, u)
      const R = 0.55 + 0.4 * Math.cos(5 * th)
      return R - r
    }
  }
}

export interface DrawnImage {
  data: Uint8Array // RGB, row-major, DEMO_SIZE x DEMO_SIZE x 3
  label: number
}

/** Draws one image of class `label` in `style`, fully determined by `seed`. */
export function drawShape(label: number, style: DemoStyle, seed: number): DrawnImage {
  const r = rng(seed)
  const cls = DEMO_CLASSES[label]
  const S = DEMO_SIZE
  const scale = 7 + r() * 5
  const cx = S / 2 + (r() - 0.5) * 8
  const cy = S / 2 + (r() - 0.5) * 8
  const rot = r() * Math.PI * 2
  const cos = Math.cos(rot)
  const sin = Math.sin(rot)
  const strokeW = 0.18 + r() * 0.08

  const hue = r()
  const fg = style === 'color' ? hsv(hue, 0.85, 0.95) : style === 'stroke' ? [20, 20, 30] : [235, 235, 235]
  const bg = style === 'color' ? hsv((hue + 0.5) % 1, 0.7, 0.3) : style === 'stroke' ? [225, 220, 200] : [25, 25, 30]
  const stripes = 2 + Math.floor(r() * 3)
  const checker = r() < 0.5
  const noiseAmp = style === 'texture' ? 40 : 12

  const data = new Uint8Array(S * S * 3)
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const dx = x + 0.5 - cx
      const dy = y + 0.5 - cy
      const u = (cos * dx + sin * dy) / scale
      const v = (-sin * dx + cos * dy) / scale
      const d = inside(cls, u, v)
      // anti-aliased coverage
      let cover = clamp01(d * scale + 0.5)
      if (style === 'stroke') cover = clamp01((strokeW - Math.abs(d)) * scale + 0.5)
      let base = bg
      if (style === 'texture') {
        const t = checker ? ((Math.floor(x / 4) + Math.floor(y / 4)) % 2) : Math.floor((x + y) / stripes) % 2
        base = t ? [150, 90, 60] : [60, 110, 150]
      }
      for (let c = 0; c < 3; c++) {
        const n = (r() - 0.5) * noiseAmp
        const val = base[c] * (1 - cover) + fg[c] * cover + n
        data[(y * S + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(val)))
      }
    }
  }
  return { data, label }
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x
}

function hsv(h: number, s: number, v: number): number[] {
  const i = Math.floor(h * 6)
  const f = h * 6 - i
  const p = v * (1 - s)
  const q = v * (1 - f * s)
  const t = v * (1 - (1 - f) * s)
  const [r, g, b] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][i % 6]
  return [r * 255, g * 255, b * 255]
}

/** Seed of image i of class c in a style and split: stable across runs and machines. */
export function imageSeed(style: DemoStyle, split: string, label: number, i: number): number {
  let h = 2166136261
  for (const ch of `${style}/${split}/${label}/${i}`) {
    h ^= ch.charCodeAt(0)
    h = Math.imul(h, 16777619)
  }
  return h >>> 0
}
