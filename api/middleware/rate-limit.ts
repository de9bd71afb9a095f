import type { MiddlewareHandler } from 'hono'
import type { SecurityLogWriter } from '../../node/core/ports.ts'
import type { ApiEnv } from '../context.ts'
import type { TokenBucketLimiter } from './token-bucket.ts'

export interface RateLimitInit {
  /** Buckets per API key. */
  readonly limiter: TokenBucketLimiter
  /** Buckets per client address (after trusted-proxy resolution); every request draws from one. */
  readonly addressLimiter: TokenBucketLimiter
  readonly securityLog: SecurityLogWriter
  /** Called on every refusal (metrics). */
  readonly onLimited?: () => void
}

/**
 * Token-bucket rate limiting per client address, as the anchor's `RateLimiter` limits per IP, and
 * besides it per API key: a request with a valid key draws from its address's bucket and then from
 * its key's, so a client holding many keys gets no more than its address allows and a key shared by
 * many addresses no more than the key allows. Requests without a valid key draw from the address
 * bucket only (so guessing keys is limited per address). Refusals answer the anchor's 429 body with
 * `Retry-After` in whole seconds, and go to the security log naming the bucket.
 */
export function rateLimit(init: RateLimitInit): MiddlewareHandler<ApiEnv> {
  const { limiter, addressLimiter, securityLog, onLimited } = init
  return async function rateLimitMiddleware(c, next) {
    const auth = c.get('auth')
    const address = c.get('clientAddress')
    // The address first: a refused request then costs the key's bucket nothing, so a client
    // flooding with a shared key does not drain it for the key's other users.
    const addressBucket = `ip:${address}`
    let bucket = addressBucket
    let result = addressLimiter.take(addressBucket)
    let limit = addressLimiter.burst
    if (result.allowed && auth?.kind === 'key') {
      const keyBucket = `key:${auth.key.id}`
      const byKey = limiter.take(keyBucket)
      if (!byKey.allowed || byKey.remaining < result.remaining) {
        bucket = keyBucket
        result = byKey
        limit = limiter.burst
      }
    }
    if (!result.allowed) {
      onLimited?.()
      securityLog.append('rate_limit.hit', {
        bucket,
        method: c.req.method,
        path: c.req.path,
        client: address
      })
      c.header('Retry-After', retryAfterHeader(result.retryAfterSeconds))
      return c.json(rateLimitedBody(result.retryAfterSeconds), 429)
    }
    // The tighter of the two buckets.
    c.header('X-RateLimit-Limit', String(limit))
    c.header('X-RateLimit-Remaining', String(result.remaining))
    await next()
  }
}

/** The anchor's 429 body. */
export function rateLimitedBody(retryAfterSeconds: number): { error: string; retry_after: number } {
  return { error: 'Rate limit exceeded', retry_after: retryAfterSeconds }
}

/** `Retry-After` in whole seconds, at least 1 (the body's `retry_after` keeps the fraction). */
export function retryAfterHeader(retryAfterSeconds: number): string {
  return String(Math.max(1, Math.ceil(retryAfterSeconds)))
}
