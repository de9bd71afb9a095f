import type { MiddlewareHandler } from 'hono'
import type { SecurityLogWriter } from '../../node/core/ports.ts'
import { limitBody } from './body-limit.ts'
import type { ApiEnv } from '../context.ts'
import { requireScope } from './authenticate.ts'

/** Per-route middleware: the scope a route needs, and the body limit for routes that take one. */
export interface ScopeGuards {
  readonly share: MiddlewareHandler<ApiEnv>
  readonly read: MiddlewareHandler<ApiEnv>
  readonly admin: MiddlewareHandler<ApiEnv>
  readonly body: MiddlewareHandler<ApiEnv>
}

export function createGuards(securityLog: SecurityLogWriter, bodyLimitBytes: number): ScopeGuards {
  return {
    share: requireScope({ scope: 'share', securityLog }),
    read: requireScope({ scope: 'read', securityLog }),
    admin: requireScope({ scope: 'admin', securityLog }),
    body: limitBody(bodyLimitBytes)
  }
}
