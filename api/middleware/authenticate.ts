import type { MiddlewareHandler } from 'hono'
import {
  type ApiKeyRegistry,
  type ApiKeyScope,
  hasScope,
  type SecurityLogWriter
} from '../../node/core/ports.ts'
import type { ApiEnv } from '../context.ts'

/** Keys longer than this are not keys; refusing them early keeps hashing cheap. */
const MAX_KEY_LENGTH = 256

/**
 * Reads `X-API-Key` and records what it proves in `c.var.auth`. It never rejects by itself: the
 * rate limiter needs to know the key first, and `requireScope` decides per route. On
 * `anonymousPaths` (paths no key is asked for, such as `/health`) a key is not looked up at all:
 * the request counts as one without a key (its address's rate bucket only).
 */
export function authenticate(init: {
  readonly apiKeys: ApiKeyRegistry
  readonly anonymousPaths?: readonly string[]
}): MiddlewareHandler<ApiEnv> {
  const anonymous = new Set(init.anonymousPaths ?? [])
  return async function authenticateMiddleware(c, next) {
    const presented = anonymous.has(c.req.path) ? undefined : c.req.header('x-api-key')
    if (presented === undefined || presented === '') {
      c.set('auth', { kind: 'none', failure: 'missing', keyId: null })
    } else if (presented.length > MAX_KEY_LENGTH) {
      c.set('auth', { kind: 'none', failure: 'invalid', keyId: null })
    } else {
      const check = init.apiKeys.check(presented)
      c.set(
        'auth',
        check.ok
          ? { kind: 'key', key: check.key }
          : { kind: 'none', failure: check.reason, keyId: check.keyId }
      )
    }
    await next()
  }
}

const UNAUTHORIZED = 'Unauthorized. Provide valid X-API-Key header.'

/** Stable 401 bodies: the anchor's message, and a code saying which check failed. */
export const UNAUTHORIZED_BODIES = {
  missing: { error: UNAUTHORIZED, code: 'api_key_missing' },
  invalid: { error: UNAUTHORIZED, code: 'api_key_invalid' },
  expired: { error: UNAUTHORIZED, code: 'api_key_expired' },
  revoked: { error: UNAUTHORIZED, code: 'api_key_revoked' }
} as const

/**
 * Lets the request through only with a valid key holding `scope`: 401 when the key is missing,
 * invalid, expired or revoked, 403 when it lacks the scope. Every outcome goes to the security log.
 */
export function requireScope(init: {
  readonly scope: ApiKeyScope
  readonly securityLog: SecurityLogWriter
}): MiddlewareHandler<ApiEnv> {
  const { scope, securityLog } = init
  return async function requireScopeMiddleware(c, next) {
    const auth = c.get('auth')
    const where = { method: c.req.method, path: c.req.path, client: c.get('clientAddress') }
    if (auth.kind === 'none') {
      securityLog.append('auth.failure', { ...where, reason: auth.failure, key_id: auth.keyId })
      c.header('WWW-Authenticate', 'X-API-Key')
      return c.json(UNAUTHORIZED_BODIES[auth.failure], 401)
    }
    if (!hasScope(auth.key.scopes, scope)) {
      securityLog.append('auth.failure', {
        ...where,
        reason: 'scope',
        key_id: auth.key.id,
        required_scope: scope
      })
      return c.json(
        {
          error: `Forbidden: this API key lacks the '${scope}' scope`,
          code: 'scope_missing',
          required_scope: scope
        },
        403
      )
    }
    securityLog.append('auth.success', { ...where, key_id: auth.key.id, scope })
    await next()
  }
}
