import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { ApiEnv } from '../context.ts'
import { MalformedJsonError, PayloadTooLargeError } from '../errors.ts'

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * The body limit, enforced while reading: a Content-Length over the limit is refused before any of
 * the body is read, a chunked body as soon as it passes the limit. A JSON body must also be valid
 * UTF-8: a lenient decoder would replace bad bytes, and the node would store and hash data other
 * than what the client sent.
 */
export function limitBody(
  maxBytes: number,
  options: {
    /** The error for a body that is not valid UTF-8; MalformedJsonError unless given. */
    readonly invalidUtf8?: (cause: unknown) => Error
  } = {}
): MiddlewareHandler<ApiEnv> {
  const invalidUtf8 =
    options.invalidUtf8 ?? ((cause) => new MalformedJsonError('request body is not valid UTF-8', { cause }))
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new PayloadTooLargeError(maxBytes)
    }
  })
  return async function limitBodyMiddleware(c, next) {
    return limit(c, async () => {
      if (c.req.raw.body && /json/i.test(c.req.header('content-type') ?? '')) {
        // Read outside the try: a failed read (the client went away) is not a UTF-8 problem.
        const bytes = await c.req.arrayBuffer()
        let text: string
        try {
          text = strictUtf8.decode(bytes)
        } catch (err) {
          throw invalidUtf8(err)
        }
        // The validator then parses this text instead of decoding the bytes again, leniently.
        // bodyCache holds promises at run time although its declared type says otherwise.
        ;(c.req.bodyCache as Record<string, unknown>)['text'] = Promise.resolve(text)
      }
      await next()
    })
  }
}
