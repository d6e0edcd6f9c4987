import { describe, expect, it } from 'vitest'
import { cosineLr, cosineSchedule } from '../../../../src/main/engine/train/schedule'

// torch.optim.lr_scheduler.CosineAnnealingLR(T_max=20), base lr 0.1, printed by scripts/ref/sgd_reference.py
const TORCH_COS20 = [
  0.1, 0.0993844170297569, 0.09755282581475769, 0.0945503262094184, 0.0904508497187474, 0.08535533905932739,
  0.07938926261462367, 0.07269952498697735, 0.06545084971874739, 0.05782172325201156, 0.05000000000000001,
  0.04217827674798848, 0.03454915028125264, 0.027300475013022667, 0.020610737385376353, 0.014644660940672629,
  0.009549150281252633, 0.005449673790581611, 0.0024471741852423235, 0.0006155829702431171,
]

describe('cosine schedule (per epoch, T_max = epochs, eta_min 0)', () => {
  it('matches PyTorch CosineAnnealingLR', () => {
    const s = cosineSchedule(0.1, 20)
    expect(s).toHaveLength(20)
    s.forEach((lr, i) => expect(lr).toBeCloseTo(TORCH_COS20[i], 14))
  })

  it('starts at the base rate, decreases monotonically, honours eta_min', () => {
    const s = cosineSchedule(1, 7, 0.1)
    expect(s[0]).toBe(1)
    for (let i = 1; i < s.length; i++) expect(s[i]).toBeLessThan(s[i - 1])
    expect(s[6]).toBeGreaterThan(0.1)
    expect(cosineLr(1, 7, 7, 0.1)).toBeCloseTo(0.1, 14)
  })

  it('rejects bad arguments', () => {
    expect(() => cosineLr(0.1, -1, 5)).toThrow(/epoch/)
    expect(() => cosineLr(0.1, 0, 0)).toThrow(/T_max/)
  })
})
