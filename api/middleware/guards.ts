import type { MiddlewareHandler } from 'hono'
import type { SecurityLogWriter } from '../../node/core/ports.ts'
import type { ApiEnv } from '../context.ts'
import { anchorJsonBody } from './anchor-json-body.ts'
import { requireScope } from './authenticate.ts'
import { limitBody } from './body-limit.ts'

/** Per-route middleware: the scope a route needs, and the body limit for routes that take one. */
export interface ScopeGuards {
  readonly share: MiddlewareHandler<ApiEnv>
  readonly read: MiddlewareHandler<ApiEnv>
  readonly admin: MiddlewareHandler<ApiEnv>
  readonly body: MiddlewareHandler<ApiEnv>
  /** The body limit, then the anchor's reading of a JSON body (`anchorJsonBody`). */
  readonly anchorBody: MiddlewareHandler<ApiEnv>
  /**
   * The anchor's `/compliance_history` and `/network/*`: `read` unless the external API opens them
   * (`api.external.openAnchorReads`), then nothing, as the anchor checks no key there.
   */
  readonly anchorRead: MiddlewareHandler<ApiEnv>
}

export interface GuardsInit {
  /** Open the anchor's read paths as the anchor does (no key looked at). */
  readonly openAnchorReads?: boolean
}

export function createGuards(
  securityLog: SecurityLogWriter,
  bodyLimitBytes: number,
  init: GuardsInit = {}
): ScopeGuards {
  const read = requireScope({ scope: 'read', securityLog })
  return {
    share: requireScope({ scope: 'share', securityLog }),
    read,
    admin: requireScope({ scope: 'admin', securityLog }),
    body: limitBody(bodyLimitBytes),
    anchorBody: anchorJsonBody(bodyLimitBytes),
    anchorRead: init.openAnchorReads ? openPath : read
  }
}

/** No key needed: the route answers anyone (still rate-limited per client address). */
export const openPath: MiddlewareHandler<ApiEnv> = async function openPath(_c, next) {
  await next()
}
