/**
 * The pure parts of `daft doctor` (doctor.ts): parsing `ldconfig -p` and the native build log, finding the CUDA
 * libraries tfjs-node-gpu needs, the instruction set a CPU's flags allow. No I/O here, so they are unit-tested
 * on any machine.
 */
import { arch } from 'node:os'
import { join } from 'node:path'


export interface LdconfigEntry {
  name: string
  flags: string
  path: string
}

/** `ldconfig -p` output: "\tlibcudart.so.13 (libc6,x86-64) => /usr/local/cuda-13.0/lib/libcudart.so.13" per line. */
export function parseLdconfig(text: string): LdconfigEntry[] {
  const out: LdconfigEntry[] = []
  for (const line of text.split('\n')) {
    const m = /^\s+(\S+)\s+\(([^)]*)\)\s+=>\s+(\S.*?)\s*$/.exec(line)
    if (m) out.push({ name: m[1], flags: m[2], path: m[3] })
  }
  return out
}

export interface LibrarySearch {
  found: { name: string; path: string }[]
  missing: string[]
  /** other versions of the needed libraries (e.g. libcudart.so.13 where libcudart.so.11.0 is needed) */
  others: { name: string; path: string }[]
}

/**
 * Which of `needed` (sonames) are in `dirs` (directory listings, searched in order) or in the ldconfig cache; and which
 * other versions of them are there. `ldArch` keeps only cache entries of that ABI (e.g. "x86-64").
 */
export function findLibraries(needed: readonly string[], dirs: { dir: string; files: string[] }[], ldconfig: LdconfigEntry[], ldArch?: string): LibrarySearch {
  const cache = ldArch ? ldconfig.filter((e) => e.flags.includes(ldArch)) : ldconfig
  const found: LibrarySearch['found'] = []
  const missing: string[] = []
  const others = new Map<string, string>()
  for (const lib of needed) {
    const inDir = dirs.find((d) => d.files.includes(lib))
    const inCache = cache.find((e) => e.name === lib)
    if (inDir) found.push({ name: lib, path: join(inDir.dir, lib) })
    else if (inCache) found.push({ name: lib, path: inCache.path })
    else missing.push(lib)
    const stem = lib.slice(0, lib.indexOf('.so') + 4) // "libcudart.so."
    const candidates = [...dirs.flatMap((d) => d.files.map((f) => ({ name: f, path: join(d.dir, f) }))), ...cache]
    for (const c of candidates) if (c.name.startsWith(stem) && c.name !== lib && !others.has(c.name)) others.set(c.name, c.path)
  }
  return { found, missing, others: [...others].map(([name, path]) => ({ name, path })) }
}

/** The micro-kernel instruction set native/src/addon.cc picks on a CPU with these /proc/cpuinfo flags. */
export function isaFromCpuFlags(flags: readonly string[], machine = arch()): 'avx512' | 'avx2' | 'generic' {
  if (machine !== 'x64') return 'generic'
  const has = (f: string): boolean => flags.includes(f)
  if (has('avx512f') && has('avx512vl')) return 'avx512'
  if (has('avx2') && has('fma')) return 'avx2'
  return 'generic'
}

export interface BuildLog {
  result: 'built' | 'failed' | 'skipped' | 'unknown'
  /** "# result:" line without its prefix */
  summary: string
  when?: string
  /** the first line that names the error (compiler or node-gyp), for failed builds */
  error?: string
}

/** native/build/build.log as scripts/build-native.mjs writes it: "# key: value" header lines, then the output. */
export function parseBuildLog(text: string): BuildLog {
  const header = (key: string): string | undefined => new RegExp(`^# ${key}: (.*)$`, 'm').exec(text)?.[1]?.trim()
  const summary = header('result') ?? ''
  const result = /^built\b/.test(summary) ? 'built' : /^failed\b/.test(summary) ? 'failed' : /^skipped\b/.test(summary) ? 'skipped' : 'unknown'
  const body = text.split('\n').filter((l) => l.trim() && !l.startsWith('# '))
  const error =
    result !== 'failed'
      ? undefined
      : (body.find((l) => /\berror:/i.test(l) && !/^gyp ERR!/.test(l)) ?? body.find((l) => /^gyp ERR! (stack )?Error:/.test(l)) ?? body.find((l) => /^gyp ERR!/.test(l)) ?? body[body.length - 1])?.trim()
  return { result, summary, when: header('date'), error }
}

export function firstLine(s: string): string {
  return s.split('\n').map((l) => l.trim()).find(Boolean) ?? ''
}

