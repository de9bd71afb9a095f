import type { MiddlewareHandler } from 'hono'
import type { ApiEnv } from '../context.ts'
import { AnchorBodyError } from '../errors.ts'
import { limitBody } from './body-limit.ts'

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i
const INTEGER_LITERAL = /^[0-9]+$/

/**
 * The body of the anchor's `POST /share_data`, read as its `share_data` reads it: the body limit
 * first (413, as everywhere), then a body that does not parse, or none at all, is 422
 * `{"error":"Invalid JSON body","field":null}` (external_api.py: `except Exception: raise
 * ValidationError("Invalid JSON body")`), and one that parses to anything but an object is 422
 * `{"error":"Request body must be a JSON object","field":null}` (validation.py). A body declared as
 * another media type is left to the route's 415.
 *
 * `payment_amount` written as an integer literal is read exactly, as Python's json reads integers:
 * `1000000000000000000000000000000` (10^30) reaches the schema as that digit string, not as the
 * double `1e30`, which is another number.
 */
export function anchorJsonBody(maxBytes: number): MiddlewareHandler<ApiEnv> {
  const limit = limitBody(maxBytes, {
    invalidUtf8: (cause) => new AnchorBodyError('malformed_json', { cause })
  })
  return async function anchorJsonBodyMiddleware(c, next) {
    return limit(c, async () => {
      const contentType = c.req.header('content-type')
      if (contentType !== undefined && !JSON_MEDIA_TYPE.test(contentType.split(';')[0]?.trim() ?? '')) {
        return next()
      }
      if (contentType === undefined && c.req.raw.body !== null) return next()
      const text = contentType === undefined ? '' : await c.req.text()
      const sources = new Map<object, string>()
      let body: unknown
      try {
        body = JSON.parse(
          text,
          function revive(this: object, key: string, value: unknown, context?: { source?: string }) {
            if (key === 'payment_amount' && typeof value === 'number' && context?.source !== undefined) {
              sources.set(this, context.source)
            }
            return value
          }
        )
      } catch (err) {
        throw new AnchorBodyError('malformed_json', { cause: err })
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new AnchorBodyError('body_not_object')
      }
      const literal = sources.get(body)
      const amount = (body as Record<string, unknown>)['payment_amount']
      if (literal !== undefined && INTEGER_LITERAL.test(literal) && BigInt(literal) !== exactOrNull(amount)) {
        ;(body as Record<string, unknown>)['payment_amount'] = literal
        // The validator parses the cached text; it now carries the amount as its exact digits.
        // bodyCache holds promises at run time although its declared type says otherwise.
        ;(c.req.bodyCache as Record<string, unknown>)['text'] = Promise.resolve(JSON.stringify(body))
      }
      await next()
    })
  }
}

function exactOrNull(value: unknown): bigint | null {
  return typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : null
}
