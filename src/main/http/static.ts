/**
 * The built renderer as static files. Public build output: served without the token (the page needs it
 * to read the token from its URL); the API stays behind the token. Only files inside the folder, no
 * directory listings, no fallback page for unknown paths (the renderer has no client-side routes).
 */
import { readFile, stat } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { extname, join, relative, resolve, isAbsolute } from 'node:path'
import { HttpError } from './security'

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.ico': 'image/x-icon',
}

/** The file a URL path names inside staticDir; throws 400 for malformed or escaping paths. */
export function staticFile(staticDir: string, pathname: string): string {
  let path: string
  try {
    path = decodeURIComponent(pathname)
  } catch {
    throw new HttpError(400, 'bad_path', 'malformed percent-encoding in the path')
  }
  const segments = path.split(/[/\\]/)
  if (path.includes('\0') || segments.includes('..')) throw new HttpError(400, 'bad_path', 'path not allowed')
  const root = resolve(staticDir)
  const file = resolve(root, '.' + path)
  const rel = relative(root, file)
  if (rel.startsWith('..') || isAbsolute(rel)) throw new HttpError(400, 'bad_path', 'path not allowed')
  return file
}

export async function serveStatic(res: ServerResponse, staticDir: string, pathname: string): Promise<void> {
  let file = staticFile(staticDir, pathname)
  let body: Buffer
  try {
    if ((await stat(file)).isDirectory()) file = join(file, 'index.html')
    body = await readFile(file)
  } catch {
    throw new HttpError(404, 'not_found', `${pathname.slice(0, 200)} not found (was the renderer built?)`)
  }
  res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-cache' })
  res.end(body)
}
