import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadCheckpoint } from '../../../../src/main/engine/io/index'
import { unpickle } from '../../../../src/main/engine/io/pickle'
import { CheckpointError } from '../../../../src/main/engine/io/types'
import { PickleBuilder, legacyHeader, makeZip, maliciousPickle, tempDir } from './fixtures'

const tmp = tempDir()
afterAll(() => tmp.cleanup())

async function expectRefused(file: string, global: string, marker: string): Promise<void> {
  const err = await loadCheckpoint(file).then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(CheckpointError)
  const msg = (err as Error).message
  expect(msg).toContain(file)
  expect(msg).toContain(global)
  expect(msg).toMatch(/refused to load/)
  expect(msg).toMatch(/nothing was executed/)
  expect(existsSync(marker)).toBe(false)
}

describe('safe unpickler refuses code execution', () => {
  const cases: [string, string, (marker: string) => string][] = [
    ['posix', 'system', (m) => `touch ${m}`],
    ['os', 'system', (m) => `touch ${m}`],
    ['builtins', 'eval', (m) => `open(${JSON.stringify(m)}, 'w').write('pwned')`],
  ]
  for (const [module, name, payload] of cases) {
    const global = `${module}.${name}`
    it(`${global}: bare pickle, legacy torch file and zip archive/data.pkl are all refused`, async () => {
      const marker = join(tmp.dir, `pwned-${module}-${name}`)
      const evil = maliciousPickle(module, name, payload(marker))
      const bare = join(tmp.dir, `${module}-${name}-bare.pth`)
      const legacy = join(tmp.dir, `${module}-${name}-legacy.th`)
      const zip = join(tmp.dir, `${module}-${name}.pt`)
      writeFileSync(bare, evil)
      writeFileSync(legacy, Buffer.concat([legacyHeader(), evil]))
      writeFileSync(zip, makeZip([['archive/data.pkl', evil], ['archive/version', Buffer.from('3\n')]]))
      for (const f of [bare, legacy, zip]) await expectRefused(f, global, marker)
    })
  }

  it('a protocol-0 text pickle (no PROTO byte) is recognised and refused too', async () => {
    const marker = join(tmp.dir, 'pwned-p0')
    const file = join(tmp.dir, 'p0.pkl')
    writeFileSync(file, `cposix\nsystem\n(S'touch ${marker}'\ntR.`, 'latin1')
    await expectRefused(file, 'posix.system', marker)
  })

  it('STACK_GLOBAL (protocol 4) is checked against the same allow-list', () => {
    const evil = new PickleBuilder().proto(4).shortStr('builtins').memoize().shortStr('exec').memoize().stackGlobal()
      .shortStr('import os').tuple1().reduce().stop().toBuffer()
    expect(() => unpickle(evil, { file: 'x.pkl' })).toThrow(/refused to load: the pickle references builtins\.exec/)
  })

  it('refuses a global even when it is never called, and refuses EXT registry lookups', () => {
    const unused = new PickleBuilder().proto(2).global('subprocess', 'Popen').stop().toBuffer()
    expect(() => unpickle(unused, { file: 'u.pkl' })).toThrow(/u\.pkl: refused to load: the pickle references subprocess\.Popen/)
    const ext = new PickleBuilder().proto(2).op(0x82, 1).stop().toBuffer()
    expect(() => unpickle(ext, { file: 'e.pkl' })).toThrow(/extension registry/)
  })

  it('refuses an allow-listed tensor rebuild whose persistent id is not a storage', () => {
    const p = new PickleBuilder().proto(2).mark().str('module').none().tuple().binpersid().stop().toBuffer()
    const file = join(tmp.dir, 'persid.th')
    writeFileSync(file, Buffer.concat([legacyHeader(), p]))
    return expect(loadCheckpoint(file)).rejects.toThrow(/persistent id of kind 'module'/)
  })
})

describe('unpickle values', () => {
  it('decodes protocol-2 containers, ints, floats, strings and memo references', () => {
    const p = new PickleBuilder().proto(2).emptyDict().binput(0).mark()
      .str('ints').mark().int(7).int(300).int(-5).long1([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00]).tuple()
      .str('float').float(91.78)
      .str('list').emptyList().binput(1).mark().str('a').none().bool(true).bool(false).appends()
      .str('again').binget(1)
      .str('ümlaut').str('ok')
      .setitems().stop().toBuffer()
    const { value, end } = unpickle(p, { file: 't.pkl' })
    expect(end).toBe(p.length)
    const m = value as Map<string, unknown>
    expect([...m.keys()]).toEqual(['ints', 'float', 'list', 'again', 'ümlaut'])
    expect(m.get('ints')).toEqual([7, 300, -5, 2n ** 63n])
    expect(m.get('float')).toBe(91.78)
    expect(m.get('list')).toEqual(['a', null, true, false])
    expect(m.get('again')).toBe(m.get('list'))
  })

  it('reads protocol-4 frames, SHORT_BINUNICODE and MEMOIZE, and OrderedDict via STACK_GLOBAL', () => {
    const body = new PickleBuilder().shortStr('collections').memoize().shortStr('OrderedDict').memoize().stackGlobal().memoize()
      .emptyTuple().reduce().memoize().mark().shortStr('k').int(1).shortStr('j').binget(0).setitems().stop().toBuffer()
    const p = Buffer.concat([new PickleBuilder().proto(4).frame(body.length).toBuffer(), body])
    const value = unpickle(p, { file: 'p4.pkl' }).value as Map<string, unknown>
    expect([...value.entries()]).toEqual([['k', 1], ['j', 'collections']])
  })

  it('reads consecutive pickles from an offset and reports truncation with the file name', () => {
    const a = new PickleBuilder().proto(2).int(1).stop().toBuffer()
    const b = new PickleBuilder().proto(2).str('second').stop().toBuffer()
    const both = Buffer.concat([a, b])
    const first = unpickle(both, { file: 'two.pkl' })
    expect(first.value).toBe(1)
    expect(unpickle(both, { file: 'two.pkl', offset: first.end }).value).toBe('second')
    expect(() => unpickle(b.subarray(0, 6), { file: 'cut.pkl' })).toThrow(/cut\.pkl: truncated file/)
    expect(() => unpickle(Buffer.from([0x80, 0x02, 0xff]), { file: 'bad.pkl' })).toThrow(/bad\.pkl: malformed pickle: unknown pickle opcode 0xff/)
  })
})
