import { type OpenAPIHono, z } from '@hono/zod-openapi'
import { streamSSE } from 'hono/streaming'
import type { EventLogReader } from '../../../node/core/ports.ts'
import type { ApiEnv } from '../../context.ts'
import type { InternalApiPorts } from '../../deps.ts'
import { InvalidEventCursorError } from '../../errors.ts'
import { ErrorSchema } from '../../schemas/common.ts'
import { internalEdgeResponses } from '../../schemas/internal.ts'

// Events read from the log per query: a reader far behind catches up in pages, never all at once.
const PAGE = 100
// Events written by another process (the CLI) wake no in-process listener: readers look anyway.
const POLL_MS = 1_000
// Comments keep idle connections open through proxies that time out silent streams.
const HEARTBEAT_MS = 15_000
const MAX_PREFIXES = 32
const CURSOR = /^(0|[1-9][0-9]{0,15})$/

/**
 * `GET /events`: the node's event log (shares, deliveries, audit, peers, security events) as
 * Server-Sent Events, each with its log id as `id:`. A stream starts after `Last-Event-ID` (what
 * EventSource sends when it reconnects, so it wins), else after `?after=N`, else at the end of the
 * log (live events only). `?types=share.,audit.` keeps events whose type starts with one of the
 * prefixes. Each reader reads the log in pages from its own cursor, so a slow reader holds nothing
 * up and misses nothing the log still retains; a cursor older than retention gets an `expired`
 * event and goes on from the oldest retained event. Streams end when the client leaves or when
 * `shutdown` aborts.
 */
export function registerEventRoutes(
  app: OpenAPIHono<ApiEnv>,
  ports: InternalApiPorts,
  shutdown: AbortSignal
) {
  // A stream, not a JSON answer: described in the document, served by a plain handler.
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/events',
    operationId: 'streamEvents',
    tags: ['events'],
    summary: 'The event log as Server-Sent Events, resumable after Last-Event-ID or ?after=',
    description:
      'Each message: `id:` the log id, `event:` the type (share.accepted, share.delivered, share.delivery_failed, ' +
      'share.received, audit.sent, audit.confirmed, audit.chain_reset, peer.verified, peer.refused, security.<kind>), ' +
      '`data:` `{id, type, at, data}`. First `ready` `{types, after, latest_id}`; `expired` `{after, oldest_id}` when ' +
      'events after the cursor were pruned (the stream goes on from the oldest kept); `: keep-alive` comments. ' +
      'Last-Event-ID wins over ?after=; with neither the stream starts at the end of the log.',
    request: {
      query: z.object({
        after: z.string().optional().openapi({ description: 'resume after this event id' }),
        types: z
          .string()
          .optional()
          .openapi({ description: 'comma-separated type prefixes, e.g. share.,audit.' })
      }),
      headers: z.object({
        'last-event-id': z.string().optional().openapi({ description: 'resume after this event id (wins)' })
      })
    },
    responses: {
      ...internalEdgeResponses,
      200: { content: { 'text/event-stream': { schema: z.string() } }, description: 'the stream' },
      422: {
        content: { 'application/json': { schema: ErrorSchema } },
        description: 'invalid_event_id (not a non-negative integer) or unknown_event_id (after the last id)'
      }
    }
  })

  app.get('/events', (c) => {
    const prefixes = (c.req.query('types') ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '')
      .slice(0, MAX_PREFIXES)
    const log = ports.eventLog
    const latest = log.latestId()
    const fromQuery = parseCursor(c.req.query('after'), 'after', latest)
    const fromHeader = parseCursor(c.req.header('last-event-id'), 'Last-Event-ID', latest)
    const start = fromHeader ?? fromQuery ?? latest
    return streamSSE(c, async (stream) => {
      let wake: (() => void) | undefined
      const unsubscribe = ports.events.subscribe(() => wake?.())
      const done = new Promise<void>((resolve) => {
        const finish = () => resolve()
        stream.onAbort(finish)
        if (shutdown.aborted) finish()
        else shutdown.addEventListener('abort', finish, { once: true })
      })
      const open = () => !stream.aborted && !shutdown.aborted
      let cursor = start
      let lastWrite = Date.now()
      try {
        await stream.writeSSE({
          event: 'ready',
          data: JSON.stringify({ types: prefixes, after: cursor, latest_id: log.latestId() })
        })
        while (open()) {
          const expired = expiredFrom(log, cursor)
          if (expired !== undefined) {
            await stream.writeSSE({
              id: String(expired.resumeAfter),
              event: 'expired',
              data: JSON.stringify({ after: cursor, oldest_id: expired.oldestId })
            })
            cursor = expired.resumeAfter
            lastWrite = Date.now()
            continue
          }
          // Read the end first: everything up to it that matches is in a page that is not full.
          const end = log.latestId()
          const page = log.after(cursor, PAGE, prefixes)
          for (const event of page) {
            if (!open()) break
            await stream.writeSSE({ id: String(event.id), event: event.type, data: JSON.stringify(event) })
            cursor = event.id
            lastWrite = Date.now()
          }
          if (page.length === PAGE) continue
          // Events the filter left out need not be read again.
          cursor = Math.max(cursor, end)
          const idleFor = Date.now() - lastWrite
          if (idleFor >= HEARTBEAT_MS) {
            await stream.write(': keep-alive\n\n')
            lastWrite = Date.now()
            continue
          }
          let timer: NodeJS.Timeout | undefined
          const woken = new Promise<void>((resolve) => {
            wake = resolve
            timer = setTimeout(resolve, Math.min(POLL_MS, HEARTBEAT_MS - idleFor))
          })
          await Promise.race([woken, done])
          clearTimeout(timer)
          wake = undefined
        }
      } finally {
        unsubscribe()
      }
    })
  })
}

/** A cursor from the request: undefined when absent; refused unless an id this log handed out (or 0). */
function parseCursor(value: string | undefined, field: string, latest: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined
  const text = value.trim()
  if (!CURSOR.test(text)) {
    throw new InvalidEventCursorError(
      field,
      'invalid',
      `${field} must be an event id (a non-negative integer)`
    )
  }
  const id = Number(text)
  if (id > latest) {
    throw new InvalidEventCursorError(field, 'unknown', `${field} ${id} is after the last event id ${latest}`)
  }
  return id
}

/**
 * When events after `cursor` were pruned: the oldest retained id (null when none is left) and the
 * cursor to go on from. Ids have no gaps but those pruning made, so a cursor below the oldest
 * retained id minus one lost events.
 */
function expiredFrom(
  log: EventLogReader,
  cursor: number
): { readonly oldestId: number | null; readonly resumeAfter: number } | undefined {
  const oldest = log.oldestId()
  if (oldest !== undefined)
    return cursor < oldest - 1 ? { oldestId: oldest, resumeAfter: oldest - 1 } : undefined
  const latest = log.latestId()
  return cursor < latest ? { oldestId: null, resumeAfter: latest } : undefined
}
