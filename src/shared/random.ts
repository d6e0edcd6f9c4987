/**
 * Seeded pseudo-random numbers (sfc32, 128-bit state) with a serialisable state, so a run can be
 * resumed mid-way and reproduce the very same shuffles / augmentations. Pure TS: no Node, DOM or tfjs.
 *
 * Same seed -> same stream. Independent streams for different purposes are derived with
 * `fork(seed, 'shuffle', epoch)`: the labels are hashed together with the seed, so the shuffle of
 * epoch 3 does not depend on how many numbers epoch 2 consumed.
 */

/** The four 32-bit words of the sfc32 state (unsigned). */
export type RngState = [number, number, number, number]

/** cyrb128-style hash of a string into four 32-bit words (never all zero). */
function hash128(text: string): RngState {
  let h1 = 1779033703
  let h2 = 3144134277
  let h3 = 1013904242
  let h4 = 2773480762
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i)
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067)
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233)
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213)
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179)
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067)
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233)
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213)
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179)
  h1 ^= h2 ^ h3 ^ h4
  h2 ^= h1
  h3 ^= h1
  h4 ^= h1
  const s: RngState = [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0]
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[3] = 1
  return s
}

export type SeedPart = string | number

/** The initial state for a seed plus optional labels (`seedState(7, 'shuffle', 2)`). */
export function seedState(seed: SeedPart, ...labels: SeedPart[]): RngState {
  for (const p of [seed, ...labels]) {
    if (typeof p === 'number' && !Number.isFinite(p)) throw new Error(`random: seed parts must be finite (got ${p})`)
  }
  return hash128([seed, ...labels].map(String).join('\u241f'))
}

export class Rng {
  private a = 0
  private b = 0
  private c = 0
  private d = 0

  constructor(seed: SeedPart = 0, ...labels: SeedPart[]) {
    this.setState(seedState(seed, ...labels))
    // sfc32 is recommended to be warmed up a few rounds after seeding
    for (let i = 0; i < 12; i++) this.nextUint32()
  }

  /** A generator continuing exactly from a saved state. */
  static fromState(state: RngState): Rng {
    const r = new Rng(0)
    r.setState(state)
    return r
  }

  getState(): RngState {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0]
  }

  setState(state: RngState): void {
    if (!Array.isArray(state) || state.length !== 4 || state.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
      throw new Error(`random: state must be four unsigned 32-bit integers (got ${JSON.stringify(state)})`)
    }
    ;[this.a, this.b, this.c, this.d] = state.map((v) => v | 0)
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5 // 27 bits
    const lo = this.nextUint32() >>> 6 // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992
  }

  /** Uniform float in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.random()
  }

  /** Uniform integer in [lo, hi) (numpy's `randint(lo, hi)`), unbiased (rejection sampling). */
  randint(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi <= lo) {
      throw new Error(`random: randint needs integers lo < hi (got ${lo}, ${hi})`)
    }
    const range = hi - lo
    if (range > 0x100000000) {
      if (range > Number.MAX_SAFE_INTEGER) throw new Error(`random: randint range too large (${range})`)
      return lo + Math.floor(this.random() * range)
    }
    // reject the top partial block so every value is equally likely
    const limit = 0x100000000 - (0x100000000 % range)
    let v = this.nextUint32()
    while (v >= limit) v = this.nextUint32()
    return lo + (v % range)
  }

  /** A normal deviate (Box-Muller; consumes two uniforms, keeps no hidden spare so the state says it all). */
  normal(mean = 0, std = 1): number {
    let u = this.random()
    while (u <= 0) u = this.random()
    const v = this.random()
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /** Bernoulli draw with probability p. */
  bernoulli(p = 0.5): boolean {
    return this.random() < p
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.randint(0, i + 1)
      const tmp = arr[i]
      arr[i] = arr[j]
      arr[j] = tmp
    }
    return arr
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0) throw new Error(`random: permutation needs a non-negative integer (got ${n})`)
    const p = new Int32Array(n)
    for (let i = 0; i < n; i++) p[i] = i
    return this.shuffle(p)
  }
}

/** A generator for an independent derived stream: `fork(seed, 'shuffle', epoch)`. */
export function fork(seed: SeedPart, ...labels: SeedPart[]): Rng {
  return new Rng(seed, ...labels)
}
