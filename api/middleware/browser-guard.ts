import type { Context, MiddlewareHandler } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { SecurityLogWriter } from '../../node/core/ports.ts'
import type { ApiEnv } from '../context.ts'
import {
  type Authority,
  authorityKey,
  hostAllowlist,
  parseAllowedHost,
  parseAuthority
} from './host-allowlist.ts'

export interface BrowserGuardInit {
  /** The configured listen host (`127.0.0.1`, `0.0.0.0`, `localhost`, ...). */
  readonly host: string
  /** Hosts, `name` or `name:port`, that the operator allows besides (`api.internal.allowedHosts`). */
  readonly allowedHosts: readonly string[]
  /** The address and port actually bound; read per request, as with port 0 they are known only after listen. */
  readonly bound: () => { readonly address: string; readonly port: number }
  readonly securityLog: SecurityLogWriter
}

/** The stable `code` of each refusal (403, 403, 415). */
export type BrowserRefusalCode = 'host_not_allowed' | 'cross_origin_refused' | 'content_type_refused'

const STATUS: Readonly<Record<BrowserRefusalCode, ContentfulStatusCode>> = {
  host_not_allowed: 403,
  cross_origin_refused: 403,
  content_type_refused: 415
}

// Methods an HTML form or a no-cors fetch can use to change state.
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
// Fetch Metadata (W3C): the values a browser sends for the page's own origin or a typed-in URL.
const SAME_ORIGIN_FETCH_SITES = new Set(['same-origin', 'none'])
// Header values are chosen by the sender: the security log keeps enough of them to recognise one.
const MAX_LOGGED_HEADER_CHARS = 256

/**
 * Loopback is not a boundary against a browser: any page the operator opens can send requests to
 * 127.0.0.1. This guard lets through only what a browser sends for the API's own origin:
 * - `Host` must name the API (DNS rebinding sends the attacker's name, with a matching `Origin`);
 * - `Origin`, when sent, must be the request's own origin (`null` is refused), and
 *   `Sec-Fetch-Site` must be `same-origin` or `none`;
 * - a state-changing method must carry `Content-Type: application/json`, which no HTML form can
 *   send; a request without any body may carry none (curl, the CLI), because a browser sending
 *   one from another page also sends `Origin` and is refused above.
 * Each refusal answers a JSON error with a stable code and goes to the security log.
 */
export function browserGuard(init: BrowserGuardInit): MiddlewareHandler<ApiEnv> {
  const { host, allowedHosts, securityLog } = init
  // A bad configured host stops the start, not the first request.
  for (const entry of allowedHosts) parseAllowedHost(entry)
  let cached: { key: string; allows: (authority: Authority) => boolean } | undefined
  const allows = (authority: Authority) => {
    const { address, port } = init.bound()
    const key = `${address}|${port}`
    if (cached?.key !== key) cached = { key, allows: hostAllowlist({ host, address, port, allowedHosts }) }
    return cached.allows(authority)
  }

  return async function browserGuardMiddleware(c, next) {
    const refuse = (code: BrowserRefusalCode, reason: string, message: string) => {
      securityLog.append('request.refused', { code, reason, ...where(c) })
      return c.json({ error: message, code }, STATUS[code])
    }

    const hostHeader = c.req.header('host')
    const authority = hostHeader === undefined ? undefined : parseAuthority(hostHeader)
    if (!authority || !allows(authority)) {
      const reason = hostHeader === undefined ? 'host_missing' : authority ? 'host_foreign' : 'host_invalid'
      return refuse(
        'host_not_allowed',
        reason,
        'Host not allowed: this API answers only its own address and api.internal.allowedHosts'
      )
    }

    const origin = c.req.header('origin')
    if (origin !== undefined && !isOwnOrigin(origin, c.req.url, authority)) {
      return refuse(
        'cross_origin_refused',
        origin.trim() === 'null' ? 'origin_null' : 'origin_foreign',
        'Cross-origin request refused: this API answers only its own origin'
      )
    }
    const fetchSite = c.req.header('sec-fetch-site')
    if (fetchSite !== undefined && !SAME_ORIGIN_FETCH_SITES.has(fetchSite.trim().toLowerCase())) {
      return refuse(
        'cross_origin_refused',
        'fetch_site',
        'Cross-origin request refused: this API answers only its own origin'
      )
    }

    if (STATE_CHANGING.has(c.req.method)) {
      const contentType = c.req.header('content-type')
      if (contentType === undefined ? hasBody(c) : !isJson(contentType)) {
        return refuse(
          'content_type_refused',
          contentType === undefined ? 'content_type_missing' : 'content_type_other',
          'Content-Type must be application/json on a request that changes state'
        )
      }
    }
    await next()
  }
}

/** `Origin` equals scheme, host and port the request was sent to (and so an allowed Host). */
function isOwnOrigin(origin: string, requestUrl: string, host: Authority): boolean {
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  if (url.protocol !== new URL(requestUrl).protocol || url.pathname !== '/' || url.username !== '')
    return false
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)
  const parsed = parseAuthority(`${url.hostname}:${port}`)
  return parsed !== undefined && authorityKey(parsed) === authorityKey(host)
}

function isJson(contentType: string): boolean {
  return contentType.split(';', 1)[0]?.trim().toLowerCase() === 'application/json'
}

/** HTTP/1.1 framing (RFC 9112 section 6.3): a request has a body only with one of these headers. */
function hasBody(c: Context<ApiEnv>): boolean {
  const length = c.req.header('content-length')
  return c.req.header('transfer-encoding') !== undefined || (length !== undefined && length.trim() !== '0')
}

function where(c: Context<ApiEnv>): Record<string, unknown> {
  const header = (name: string) => c.req.header(name)?.slice(0, MAX_LOGGED_HEADER_CHARS) ?? null
  return {
    method: c.req.method,
    path: c.req.path,
    client: c.get('clientAddress'),
    host: header('host'),
    origin: header('origin'),
    sec_fetch_site: header('sec-fetch-site'),
    content_type: header('content-type')
  }
}
