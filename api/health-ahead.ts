import type { OpenAPIHono } from '@hono/zod-openapi'
import type { SecurityLogWriter } from '../node/core/ports.ts'
import type { Logger } from '../node/log/logger.ts'
import type { ApiEnv } from './context.ts'
import { errorResponse } from './error-response.ts'
import type { ApiMetrics } from './metrics.ts'
import { logAccess, REQUEST_ID_HEADER, requestIdFor } from './middleware/access-log.ts'
import type { AddressResolver } from './middleware/client-address.ts'
import { EDGE_HEADERS } from './middleware/edge-headers.ts'
import { rateLimitedBody, retryAfterHeader } from './middleware/rate-limit.ts'
import type { TokenBucketLimiter } from './middleware/token-bucket.ts'

/** A health answer: its status and its JSON body, serialised. */
export interface HealthAnswer {
  readonly status: 200 | 503
  readonly body: string
}

export interface HealthAheadInit {
  /** `internal` or `external`, the `api` label of metrics and the access line. */
  readonly api: 'internal' | 'external'
  /** The path answered ahead, for GET (with or without a query). */
  readonly path: string
  /** The answer; synchronous while the health report in hand is fresh (api/health.ts). */
  readonly answer: () => HealthAnswer | Promise<HealthAnswer>
  readonly resolveAddress: AddressResolver
  /** The address buckets of the app's rate limit: a probe draws from its client's, as any request. */
  readonly addressLimiter: TokenBucketLimiter
  readonly securityLog: SecurityLogWriter
  readonly metrics: ApiMetrics
  readonly logger: Logger
}

/** What every JSON answer of the app carries (api/middleware/edge-headers.ts), in lower case as Hono sends them. */
const JSON_EDGE_HEADERS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries([
    ...EDGE_HEADERS.map(([name, value]) => [name.toLowerCase(), value]),
    ['content-type', 'application/json']
  ])
)

const REQUEST_ID = REQUEST_ID_HEADER.toLowerCase()

/**
 * Answers `GET <path>` (the health probe of load balancers and monitors) before the request meets
 * the Hono app, doing inline what the app's edge middleware would do for it, from the same parts:
 * the request id (echoed as `X-Request-Id`), the secure headers and no-store, the client address
 * (trusted proxies), a token from that address's rate bucket (or the 429 the rate limit answers,
 * logged and counted as there), the request counter (`countLater`: a number per status, folded in
 * at each scrape) and the access line. What a probe does not need is skipped: the routing, a Hono
 * context, a Headers object per answer, the request-context scope, the API-key lookup (`/health`
 * never looks one up), the body limits (a GET has no body), and the duration histogram: an answer
 * here is microseconds of work in memory (or the wait for a fresh report), and prom-client's
 * observation costs more than the rest of it; the time a probe sees is its load balancer's to tell. While the report in hand is fresh the answer is synchronous, and
 * @hono/node-server writes it without awaiting anything. Any other method (HEAD included) and any
 * other path go to the app, whose own route for the path answers the same body.
 */
export function answerHealthAhead(app: OpenAPIHono<ApiEnv>, init: HealthAheadInit): void {
  const { api, path, answer, resolveAddress, addressLimiter, securityLog, metrics, logger } = init
  const inner = app.fetch
  // One counter per status, its labels set once. A refused request never reached a route: the
  // app counts those under `/*`.
  const counters = new Map<number, () => void>()
  const count = (status: number) => {
    let add = counters.get(status)
    if (!add) {
      add = metrics.countLater({
        api,
        method: 'GET',
        route: status === 429 ? '/*' : path,
        status: String(status)
      })
      counters.set(status, add)
    }
    add()
  }
  const limit = String(addressLimiter.burst)

  const respond = (
    status: number,
    body: string,
    extra: Readonly<Record<string, string>>,
    line: { requestId: string; client: string; started: number }
  ): Response => {
    const headers = { ...JSON_EDGE_HEADERS, [REQUEST_ID]: line.requestId, ...extra }
    count(status)
    logAccess(logger, { ...line, api, method: 'GET', path, status })
    return new Response(body, { status, headers })
  }

  const answerAhead = (
    request: Request,
    env: ApiEnv['Bindings'] | undefined
  ): Response | Promise<Response> => {
    const started = performance.now()
    const incoming = env?.incoming
    // node-server's request builds a Headers object of every header on first use; the raw ones do.
    const header = (name: string): string | undefined => {
      if (incoming?.headers === undefined) return request.headers.get(name) ?? undefined
      const value = incoming.headers[name]
      return Array.isArray(value) ? value.join(', ') : value
    }
    const requestId = requestIdFor(header(REQUEST_ID))
    const client = resolveAddress(incoming?.socket?.remoteAddress, () => header('x-forwarded-for'))
    const line = { requestId, client, started }
    const bucket = `ip:${client}`
    const taken = addressLimiter.take(bucket)
    if (!taken.allowed) {
      metrics.rateLimited.inc({ api })
      securityLog.append('rate_limit.hit', { bucket, method: 'GET', path, client })
      const body = JSON.stringify(rateLimitedBody(taken.retryAfterSeconds))
      return respond(429, body, { 'retry-after': retryAfterHeader(taken.retryAfterSeconds) }, line)
    }
    const rate = { 'x-ratelimit-limit': limit, 'x-ratelimit-remaining': String(taken.remaining) }
    const ready = answer()
    if (!(ready instanceof Promise)) return respond(ready.status, ready.body, rate, line)
    return ready.then(
      (done) => respond(done.status, done.body, rate, line),
      (err: unknown) => {
        const failed = errorResponse(err, logger.child({ requestId }))
        return respond(failed.status, JSON.stringify(failed.body), {}, line)
      }
    )
  }

  app.fetch = (request, env, executionCtx) => {
    if (request.method !== 'GET' || !isPath(request.url, path)) return inner(request, env, executionCtx)
    return answerAhead(request, env as ApiEnv['Bindings'] | undefined)
  }
}

/** Whether `url`'s path is `path`, as Hono reads a path out of a URL (undecoded: `%`-forms go to the app). */
function isPath(url: string, path: string): boolean {
  const start = url.indexOf('/', url.indexOf(':') + 4)
  if (start === -1 || !url.startsWith(path, start)) return false
  const end = start + path.length
  return end === url.length || url[end] === '?'
}
