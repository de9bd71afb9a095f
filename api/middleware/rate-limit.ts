import type { MiddlewareHandler } from 'hono'
import type { SecurityLogWriter } from '../../node/core/ports.ts'
import type { ApiEnv } from '../context.ts'
import type { TokenBucketLimiter } from './token-bucket.ts'

export interface RateLimitInit {
  readonly limiter: TokenBucketLimiter
  readonly securityLog: SecurityLogWriter
  /** Called on every refusal (metrics). */
  readonly onLimited?: () => void
}

/**
 * Token-bucket rate limiting per API key, or per client address when the request carries no valid
 * key (so guessing keys is limited per address). Refusals answer the anchor's 429 body with
 * `Retry-After` in whole seconds, and go to the security log.
 */
export function rateLimit(init: RateLimitInit): MiddlewareHandler<ApiEnv> {
  const { limiter, securityLog, onLimited } = init
  return async function rateLimitMiddleware(c, next) {
    const auth = c.get('auth')
    const bucketKey = auth?.kind === 'key' ? `key:${auth.key.id}` : `ip:${c.get('clientAddress')}`
    const result = limiter.take(bucketKey)
    if (!result.allowed) {
      onLimited?.()
      securityLog.append('rate_limit.hit', {
        bucket: bucketKey,
        method: c.req.method,
        path: c.req.path,
        client: c.get('clientAddress')
      })
      c.header('Retry-After', String(Math.max(1, Math.ceil(result.retryAfterSeconds))))
      return c.json({ error: 'Rate limit exceeded', retry_after: result.retryAfterSeconds }, 429)
    }
    c.header('X-RateLimit-Limit', String(limiter.burst))
    c.header('X-RateLimit-Remaining', String(result.remaining))
    await next()
  }
}
