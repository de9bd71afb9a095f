import { OpenAPIHono } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import { secureHeaders } from 'hono/secure-headers'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { ZodError } from 'zod'
import type { ApiKeyRegistry, SecurityLogWriter } from '../node/core/ports.ts'
import type { Logger } from '../node/log/logger.ts'
import { CLIENT_CLOSED, isClientDisconnect } from './client-disconnect.ts'
import type { ApiEnv } from './context.ts'
import type { RateLimitSettings } from './deps.ts'
import { errorResponse } from './error-response.ts'
import { FieldValidationError } from './errors.ts'
import { impreciseNumberPath } from './json-numbers.ts'
import type { ApiMetrics } from './metrics.ts'
import { authenticate } from './middleware/authenticate.ts'
import { clientAddress } from './middleware/client-address.ts'
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
}

/**
 * An OpenAPIHono app with the edge middleware in order: metrics, secure headers, client address,
 * the app's guard if any, key lookup, rate limit; validation failures answer 422 `{error, field}`;
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

  app.use(async function requestMetrics(c, next) {
    const end = metrics.duration.startTimer()
    await next()
    // The route pattern, never the raw path: raw paths would make label cardinality unbounded.
    const route = c.res.status === 404 && c.req.routePath === '/*' ? 'unmatched' : c.req.routePath
    const labels = { api: init.api, method: c.req.method, route }
    end(labels)
    metrics.requests.inc({ ...labels, status: String(c.res.status) })
  })
  app.use(
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      strictTransportSecurity: 'max-age=63072000; includeSubDomains',
      crossOriginResourcePolicy: 'same-origin',
      // A route that sets its own (the dashboard's page-specific CSP) keeps it.
      overwrite: false
    })
  )
  app.use(async function noStore(c, next) {
    await next()
    // Nothing is cached unless its route marks it public (the dashboard's content-addressed assets).
    if (!c.res.headers.get('Cache-Control')?.startsWith('public')) c.header('Cache-Control', 'no-store')
  })
  app.use(clientAddress({ trustedProxies: init.trustedProxies }))
  if (init.guard) app.use(init.guard)
  app.use(authenticate({ apiKeys: init.apiKeys }))
  app.use(
    rateLimit({
      limiter,
      addressLimiter,
      securityLog: init.securityLog,
      onLimited: () => metrics.rateLimited.inc({ api: init.api })
    })
  )

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
    const { status, body } = errorResponse(err, logger)
    return c.json(body, status)
  })
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
