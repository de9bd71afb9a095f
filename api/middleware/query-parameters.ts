import type { MiddlewareHandler } from 'hono'
import type { ApiEnv } from '../context.ts'
import { UnknownQueryParameterError } from '../errors.ts'

/**
 * Refuses a query parameter the route does not take (422 `unknown_query_parameter`, naming it), so
 * a misspelt `limt=` or `afer=` is an error and not a silently ignored option.
 */
export function onlyQueryParameters(names: readonly string[]): MiddlewareHandler<ApiEnv> {
  const known = new Set(names)
  return async function onlyQueryParametersMiddleware(c, next) {
    for (const name of new URL(c.req.url).searchParams.keys()) {
      if (!known.has(name)) throw new UnknownQueryParameterError(name)
    }
    await next()
  }
}
