import type { Context } from 'hono'
import type { ApiEnv } from './context.ts'

/**
 * A client that drops its connection mid-request is not a fault of the node: the body read fails,
 * or the work behind the request is aborted through the request's signal. Such failures must not
 * reach the error log (any client could flood it), so they are recognised here.
 */

/** The stable `reason` of the log line and the `code` of the (unread) answer. */
export const CLIENT_CLOSED = 'client_closed'

// Node (ECONNRESET "aborted" on the request stream, ERR_STREAM_PREMATURE_CLOSE, EPIPE) and the
// fetch API (ABORT_ERR, AbortError) name a dropped connection with these.
const DISCONNECT_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'EPIPE',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ABORT_ERR'
])
// How far down a `cause` chain to look (domain errors wrap the abort reason).
const MAX_CAUSE_DEPTH = 8

/**
 * True when the client of `c` has gone and `err` comes from that: the signal's own reason, or an
 * error with a disconnect code, at any depth of its `cause` chain. A fault that merely coincides
 * with a disconnect is not matched and stays an error.
 */
export function isClientDisconnect(c: Context<ApiEnv>, err: unknown): boolean {
  if (!clientGone(c)) return false
  const signal = c.req.raw.signal
  let e: unknown = err
  for (let depth = 0; e !== undefined && e !== null && depth < MAX_CAUSE_DEPTH; depth++) {
    if (signal.aborted && e === signal.reason) return true
    if (e instanceof Error) {
      const code = (e as Error & { code?: unknown }).code
      if (e.name === 'AbortError' || (typeof code === 'string' && DISCONNECT_CODES.has(code))) return true
      e = e.cause
    } else return false
  }
  return false
}

function clientGone(c: Context<ApiEnv>): boolean {
  if (c.req.raw.signal.aborted) return true
  // The request stream errors (ECONNRESET) as soon as the socket closes, before the adaptor's
  // close handler aborts the signal.
  const incoming = c.env?.incoming
  const outgoing = c.env?.outgoing
  return Boolean(incoming?.errored) || Boolean(incoming?.socket?.destroyed) || Boolean(outgoing?.destroyed)
}
