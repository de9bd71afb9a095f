import type { MiddlewareHandler } from 'hono'
import type { ApiEnv } from '../context.ts'

/**
 * The headers every answer carries, as `hono/secure-headers` would set them with the node's options
 * (a strict CSP, two-year HSTS, same-origin resource policy), plus `Cache-Control: no-store`.
 * Computed once and set before the handler runs: the response is then created with them. Set after
 * `next()`, each header would touch a finished response, and `c.header()` on a finished response
 * makes Hono copy it into a new one.
 */
export const EDGE_HEADERS: readonly (readonly [string, string])[] = [
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Referrer-Policy', 'no-referrer'],
  ['Strict-Transport-Security', 'max-age=63072000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
  ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
  ['Cache-Control', 'no-store']
]

/** Sets `EDGE_HEADERS` on the answer before it is created. */
export function edgeHeaders(): MiddlewareHandler<ApiEnv> {
  return async function edgeHeadersMiddleware(c, next) {
    for (const [name, value] of EDGE_HEADERS) c.header(name, value)
    await next()
  }
}
