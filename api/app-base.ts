import { OpenAPIHono } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { ZodError } from 'zod'
import type { IdempotencyStore } from '../node/core/idempotency.ts'
import type { ApiKeyRegistry, SecurityLogWriter } from '../node/core/ports.ts'
import type { Logger } from '../node/log/logger.ts'
import { CLIENT_CLOSED, isClientDisconnect } from './client-disconnect.ts'
import type { ApiEnv } from './context.ts'
import type { RateLimitSettings } from './deps.ts'
import { errorResponse } from './error-response.ts'
import { FieldValidationError } from './errors.ts'
import { impreciseNumberPath } from './json-numbers.ts'
import { answerHealthAhead, type HealthAheadInit } from './health-ahead.ts'
import type { ApiMetrics } from './metrics.ts'
import { accessLog } from './middleware/access-log.ts'
import { authenticate } from './middleware/authenticate.ts'
import { addressResolver, clientAddress } from './middleware/client-address.ts'
import { edgeHeaders } from './middleware/edge-headers.ts'
import { idempotency } from './middleware/idempotency.ts'
import { rateLimit } from './middleware/rate-limit.ts'
import { TokenBucketLimiter } from './middleware/token-bucket.ts'

/** What both apps share: settings and the ports every request touches. */
export interface BaseAppInit {
  /** `internal` or `external`, the `api` label of metrics. */
  readonly api: 'internal' | 'external'
  readonly rateLimit: RateLimitSettings
  readonly trustedProxies: readonly string[]
  readonly bodyLimitBytes: number
  readonly apiKeys: ApiKeyRegistry
  readonly securityLog: SecurityLogWriter
  readonly metrics: ApiMetrics
  readonly logger: Logger
  /** Milliseconds clock of the rate limiter; tests inject one. */
  readonly now?: () => number
  /** Most rate-limit buckets held at once. */
  readonly maxClients?: number
  /**
   * Runs before the key lookup and the rate limit, so that what it refuses costs neither a key hash
   * nor a token of the client's bucket (the internal API's browser guard).
   */
  readonly guard?: MiddlewareHandler<ApiEnv>
  /**
   * A health path answered ahead of the middleware, with the edge work done inline
   * (api/health-ahead.ts); not with a `guard`, which only the middleware chain runs.
   */
  readonly healthAhead?: Pick<HealthAheadInit, 'path' | 'answer'>
  /** `Idempotency-Key` on every POST (`api/middleware/idempotency.ts`), after the rate limit. */
  readonly idempotency?: {
    readonly store: IdempotencyStore
    readonly retentionMs: number
    /** Requests without a valid API key get it too (the internal API on loopback serves them). */
    readonly anonymous: boolean
  }
}

/**
 * An OpenAPIHono app with the edge middleware in order: access log and request id, metrics, secure
 * headers and no-store (set before the answer is created; a page that needs more than
 * `default-src 'none'`, /docs, sets its own policy), client address, the app's guard if any, key
 * lookup, rate limit, idempotency keys (a `healthAhead` path meets none of them: it does their
 * part inline before the app); validation failures answer 422 `{error, field}`;
 * every error goes through `errorResponse()`, except what a client's disconnect raised, which is a
 * debug line and a 499.
 */
export function createBaseApp(init: BaseAppInit): OpenAPIHono<ApiEnv> {
  const { metrics, logger } = init
  const app = new OpenAPIHono<ApiEnv>({
    defaultHook: async (result, c) => {
      // The JSON parser has rounded such a number before the schema sees it, so the schema's own
      // verdict (or its acceptance) would be about a value the client never sent.
      if (result.target === 'json') {
        const field = impreciseNumberPath(await c.req.text())
        if (field !== undefined) throw impreciseNumberError(field)
      }
      if (!result.success) throw validationError(result.error as unknown as ZodError)
    }
  })
  const bucketOptions = {
    ...(init.maxClients !== undefined ? { maxKeys: init.maxClients } : {}),
    ...(init.now ? { now: init.now } : {})
  }
  const limiter = new TokenBucketLimiter({
    perSecond: init.rateLimit.perSecond,
    burst: init.rateLimit.burst,
    ...bucketOptions
  })
  const addressLimiter = new TokenBucketLimiter({
    perSecond: init.rateLimit.addressPerSecond ?? init.rateLimit.perSecond,
    burst: init.rateLimit.addressBurst ?? init.rateLimit.burst,
    ...bucketOptions
  })

  app.use(accessLog({ logger: logger, api: init.api }))
  app.use(async function requestMetrics(c, next) {
    const end = metrics.duration.startTimer()
    await next()
    // The route pattern, never the raw path: raw paths would make label cardinality unbounded.
    const route = c.res.status === 404 && c.req.routePath === '/*' ? 'unmatched' : c.req.routePath
    const labels = { api: init.api, method: c.req.method, route }
    end(labels)
    metrics.requests.inc({ ...labels, status: String(c.res.status) })
  })
  app.use(edgeHeaders())
  app.use(clientAddress({ trustedProxies: init.trustedProxies }))
  if (init.guard) app.use(init.guard)
  // `/health` needs no key: a key it carries is neither hashed nor looked up.
  app.use(authenticate({ apiKeys: init.apiKeys, anonymousPaths: ['/health'] }))
  app.use(
    rateLimit({
      limiter,
      addressLimiter,
      securityLog: init.securityLog,
      onLimited: () => metrics.rateLimited.inc({ api: init.api })
    })
  )
  if (init.idempotency) {
    app.use(
      idempotency({
        api: init.api,
        store: init.idempotency.store,
        retentionMs: init.idempotency.retentionMs,
        anonymous: init.idempotency.anonymous,
        logger,
        bodyLimitBytes: init.bodyLimitBytes,
        ...(init.now ? { now: init.now } : {})
      })
    )
  }

  app.notFound((c) => c.json({ error: 'Not found', code: 'not_found' }, 404))
  app.onError((err, c) => {
    if (isClientDisconnect(c, err)) {
      logger.debug(
        {
          reason: CLIENT_CLOSED,
          method: c.req.method,
          route: c.req.routePath,
          detail: disconnectDetail(err)
        },
        'client closed the connection before the answer'
      )
      // nginx's 499 "client closed request": nobody reads it, but metrics count the disconnect.
      return c.json({ error: 'Client closed request', code: CLIENT_CLOSED }, 499 as ContentfulStatusCode)
    }
    // The request's id on the error's line, to find it from the access line and the client's header.
    const { status, body } = errorResponse(err, logger.child({ requestId: c.get('requestId') }))
    return c.json(body, status)
  })
  if (init.healthAhead) {
    if (init.guard) throw new TypeError('a health path answered ahead would skip the guard')
    answerHealthAhead(app, {
      ...init.healthAhead,
      api: init.api,
      resolveAddress: addressResolver(init.trustedProxies),
      addressLimiter,
      securityLog: init.securityLog,
      metrics,
      logger
    })
  }
  return app
}

/** A short, stack-free description of what the disconnect raised. */
function disconnectDetail(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const code = (err as Error & { code?: unknown }).code
  return typeof code === 'string' ? `${err.name} ${code}` : err.name
}

function impreciseNumberError(field: string): FieldValidationError {
  return new FieldValidationError(
    field,
    `${field} is a JSON number that cannot be read exactly (integers beyond 2^53 - 1 are rounded); send it as a string of digits`
  )
}

function validationError(error: ZodError): FieldValidationError {
  const issue = error.issues[0]
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : 'body'
  const message = issue?.message ?? 'invalid request'
  if (field === 'body') return new FieldValidationError('body', 'request body must be a JSON object')
  return new FieldValidationError(field, message)
}
