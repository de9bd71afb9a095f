/**
 * Successful authentications, summarised. A row per authenticated request made every request
 * commit (and fsync) one security-log row and one event, more than the request's own work; so
 * `auth.success` is written once per key and scope per window, with how many requests it stands
 * for, when the first and last came, and from which addresses (up to a cap). Every other kind,
 * `auth.failure` included, passes through at once: refusals stay one row each, immediately.
 * The window's summary is written when the window ends and at stop, so a clean stop loses none;
 * a crash loses at most the open window's successes, never a failure.
 */
import type { Startable } from '../core/lifecycle.ts'
import type { SecurityLogWriter } from '../core/ports.ts'

export interface AuthSuccessSummaryInit {
  /** The window one summary row covers (AUTH_SUCCESS_WINDOW_MS). */
  readonly windowMs?: number
}

/** A second: a burst of requests costs one row per key and scope. */
export const AUTH_SUCCESS_WINDOW_MS = 1_000
/** Distinct keys and scopes summarised per window; one more writes the window early. */
const MAX_SUMMARIES = 1_000
/** Client addresses named per summary row. */
const MAX_CLIENTS = 16

interface Summary {
  readonly keyId: unknown
  readonly scope: unknown
  count: number
  readonly firstAt: string
  lastAt: string
  readonly clients: Set<string>
}

/** The writer the API appends to, and its start/stop (the open window is written at stop). */
export interface AuthSuccessSummary extends SecurityLogWriter, Startable {
  /** Writes the open window now. */
  flush(): void
}

/** Wraps `log` so `auth.success` entries are summarised per window; every other kind passes through. */
export function summarizingAuthSuccess(
  log: SecurityLogWriter,
  init: AuthSuccessSummaryInit = {}
): AuthSuccessSummary {
  const windowMs = init.windowMs ?? AUTH_SUCCESS_WINDOW_MS
  const open = new Map<string, Summary>()
  let timer: NodeJS.Timeout | undefined

  const flush = (): void => {
    clearTimeout(timer)
    timer = undefined
    const summaries = [...open.values()]
    open.clear()
    for (const s of summaries) {
      log.append('auth.success', {
        key_id: s.keyId,
        scope: s.scope,
        count: s.count,
        first_at: s.firstAt,
        last_at: s.lastAt,
        clients: [...s.clients]
      })
    }
  }

  return {
    name: 'auth-success-summary',
    append(kind, detail) {
      if (kind !== 'auth.success') {
        log.append(kind, detail)
        return
      }
      const id = `${String(detail['key_id'])}\u0000${String(detail['scope'])}`
      const now = new Date().toISOString()
      let summary = open.get(id)
      if (!summary) {
        if (open.size >= MAX_SUMMARIES) flush()
        summary = {
          keyId: detail['key_id'] ?? null,
          scope: detail['scope'] ?? null,
          count: 0,
          firstAt: now,
          lastAt: now,
          clients: new Set()
        }
        open.set(id, summary)
      }
      summary.count += 1
      summary.lastAt = now
      const client = detail['client']
      if (typeof client === 'string' && summary.clients.size < MAX_CLIENTS) summary.clients.add(client)
      if (!timer) {
        timer = setTimeout(flush, windowMs)
        timer.unref()
      }
    },
    flush,
    start() {},
    stop() {
      flush()
    }
  }
}
