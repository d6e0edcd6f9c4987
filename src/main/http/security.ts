/**
 * Serve mode's request guards: security headers, Host / Origin / Sec-Fetch-Site checks, the bearer token,
 * the JSON content type. Each check throws an HttpError that the server turns into its status code.
 *
 * There is no ambient credential (no cookie, no HTTP auth): the API accepts only `Authorization: Bearer
 * <token>`, which a page of another origin cannot attach without knowing the token, and a cross-origin
 * request cannot even carry it without a CORS preflight, which this server never grants.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

/**
 * The renderer is one hashed script and one stylesheet (see out/renderer/index.html, no inline script);
 * Vue and ECharts set inline styles, thumbnails are data: URLs. Matches the CSP meta of index.html (which
 * Electron uses), plus what only a header can say (frame-ancestors).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}

export function setSecurityHeaders(res: ServerResponse): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v)
}

/** Shortest accepted token: `DAFT_TOKEN` is refused below this; generated tokens have 32 random bytes (43 chars). */
export const MIN_TOKEN_LENGTH = 32
const TOKEN_CHARS = /^[A-Za-z0-9._~-]+$/

/** Why a user-chosen token is refused, or undefined when it is fine. */
export function tokenProblem(token: string): string | undefined {
  if (token.length < MIN_TOKEN_LENGTH) return `it has ${token.length} characters; at least ${MIN_TOKEN_LENGTH} are needed`
  if (token.length > 512) return 'it is over 512 characters'
  if (!TOKEN_CHARS.test(token)) return 'only A-Z a-z 0-9 - _ . ~ are allowed (it goes into a URL and a header)'
  return undefined
}

export function generateToken(): string {
  return randomBytes(32).toString('base64url')
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

/** Compares in constant time (over SHA-256 digests, so the length does not leak either). */
export function tokenChecker(token: string): (candidate: string | undefined) => boolean {
  const want = digest(token)
  return (candidate) => candidate !== undefined && timingSafeEqual(digest(candidate), want)
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]']

/**
 * DNS-rebinding guard: the Host header must name a loopback host and this server's port. Returns the
 * server's own origin as the browser sees it (what a same-origin Origin header must equal).
 */
export function checkHost(req: IncomingMessage): string {
  const host = (req.headers.host ?? '').toLowerCase()
  const port = req.socket.localPort
  if (!LOOPBACK_NAMES.some((name) => host === `${name}:${port}`)) throw new HttpError(403, 'bad_host', 'unexpected Host header')
  return `http://${host}`
}

/**
 * Cross-origin guard for the API: a browser names the calling page's origin (Origin) and its relation to
 * this server (Sec-Fetch-Site). Other 127.0.0.1 ports are "same-site" but not same-origin, so both must say
 * same-origin when present (`none` = typed into the address bar). Clients that are not browsers send neither.
 */
export function checkCaller(req: IncomingMessage, ownOrigin: string): void {
  const origin = req.headers.origin
  if (origin !== undefined && origin !== ownOrigin) throw new HttpError(403, 'cross_origin', `requests from ${origin} are not allowed`)
  const site = req.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new HttpError(403, 'cross_origin', `${site} requests are not allowed`)
}

/** `Authorization: Bearer <token>` is the only credential the API accepts (cookies are ignored). */
export function checkBearer(req: IncomingMessage, isToken: (candidate: string | undefined) => boolean): void {
  const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(req.headers.authorization ?? '')
  if (!isToken(m?.[1])) {
    throw new HttpError(401, 'unauthorised', 'missing or wrong access token: open the URL that `npm run serve` printed')
  }
}

/** Every POST carries JSON (a form or `text/plain` body is what a cross-site page can send without a preflight). */
export function requireJson(req: IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  if (type !== 'application/json') throw new HttpError(415, 'unsupported_media_type', 'send the body as Content-Type: application/json')
}
