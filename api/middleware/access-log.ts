import { randomUUID } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import type { Logger } from '../../node/log/logger.ts'
import { withRequestId } from '../../node/log/request-context.ts'
import type { ApiEnv } from '../context.ts'

export const REQUEST_ID_HEADER = 'X-Request-Id'

/**
 * A client's own request id is kept when it is short and made of URL-safe characters only (those
 * hono's request-id middleware accepts); anything else could forge or break log lines.
 */
const SANE_REQUEST_ID = /^[\w\-=.:]{1,128}$/

/** Successful probes and scrapes arrive every few seconds; they log at debug, failures at info. */
const QUIET_PATHS: ReadonlySet<string> = new Set(['/health', '/metrics'])

export interface AccessLogInit {
  readonly logger: Logger
  /** `internal` or `external`. */
  readonly api: string
}

/**
 * Gives every request an id (the client's `X-Request-Id` when sane, a fresh UUID otherwise), echoes
 * it in the response, runs the rest of the request inside it (node/log/request-context.ts: a share
 * accepted by the request logs it on its own lines), and writes one access line when the answer is
 * ready: method, path without the query (where a client may put a secret), status, duration. Cheap
 * enough to sit first, before everything else a request meets.
 */
export function accessLog(init: AccessLogInit): MiddlewareHandler<ApiEnv> {
  const { logger, api } = init
  return async function accessLogMiddleware(c, next) {
    const started = performance.now()
    const requestId = requestIdFor(c.req.header(REQUEST_ID_HEADER))
    c.set('requestId', requestId)
    c.header(REQUEST_ID_HEADER, requestId)
    await withRequestId(requestId, next)
    logAccess(logger, {
      requestId,
      api,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      started,
      client: c.get('clientAddress')
    })
  }
}

/** The id a request goes by: the client's own `X-Request-Id` when sane, a fresh UUID otherwise. */
export function requestIdFor(offered: string | undefined): string {
  return offered !== undefined && SANE_REQUEST_ID.test(offered) ? offered : randomUUID()
}

/** What one access line says; `started` is the `performance.now()` of the request's arrival. */
export interface AccessLine {
  readonly requestId: string
  readonly api: string
  readonly method: string
  readonly path: string
  readonly status: number
  readonly started: number
  readonly client: string | undefined
}

/** Writes the access line of an answered request (debug for a successful probe or scrape). */
export function logAccess(logger: Logger, line: AccessLine): void {
  const level = line.status < 400 && QUIET_PATHS.has(line.path) ? 'debug' : 'info'
  // Probes arrive often and debug is usually off: then the line is not even built.
  if (!logger.isLevelEnabled(level)) return
  logger[level](
    {
      requestId: line.requestId,
      api: line.api,
      method: line.method,
      path: line.path,
      status: line.status,
      durationMs: Math.round((performance.now() - line.started) * 10) / 10,
      client: line.client
    },
    'http request'
  )
}
