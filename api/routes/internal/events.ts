import type { OpenAPIHono } from '@hono/zod-openapi'
import { streamSSE } from 'hono/streaming'
import type { NodeEvent } from '../../../node/core/ports.ts'
import type { ApiEnv } from '../../context.ts'
import type { InternalApiPorts } from '../../deps.ts'

// A slow reader must not grow memory without bound: past this, the oldest waiting events are dropped
// and the reader is told how many with a `dropped` event.
const MAX_QUEUED = 1_000
// Comments keep idle connections open through proxies that time out silent streams.
const HEARTBEAT_MS = 15_000

/**
 * `GET /events`: live node events (shares, deliveries, audit confirmations, security events) as
 * Server-Sent Events. `?types=share.,audit.` keeps only events whose type starts with one of the
 * prefixes. Streams end when the client leaves or when `shutdown` aborts.
 */
export function registerEventRoutes(
  app: OpenAPIHono<ApiEnv>,
  ports: InternalApiPorts,
  shutdown: AbortSignal
) {
  app.get('/events', (c) => {
    const prefixes = (c.req.query('types') ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '')
      .slice(0, 32)
    return streamSSE(c, async (stream) => {
      const queue: NodeEvent[] = []
      let dropped = 0
      let wake: (() => void) | undefined
      const unsubscribe = ports.events.subscribe((event) => {
        if (prefixes.length > 0 && !prefixes.some((p) => event.type.startsWith(p))) return
        if (queue.length >= MAX_QUEUED) {
          queue.shift()
          dropped++
        }
        queue.push(event)
        wake?.()
      })
      const done = new Promise<void>((resolve) => {
        const finish = () => resolve()
        stream.onAbort(finish)
        if (shutdown.aborted) finish()
        else shutdown.addEventListener('abort', finish, { once: true })
      })
      let seq = 0
      try {
        await stream.writeSSE({ event: 'ready', data: JSON.stringify({ types: prefixes }) })
        while (!stream.aborted && !shutdown.aborted) {
          if (queue.length === 0) {
            let timer: NodeJS.Timeout | undefined
            const woken = new Promise<'event' | 'idle'>((resolve) => {
              wake = () => resolve('event')
              timer = setTimeout(() => resolve('idle'), HEARTBEAT_MS)
            })
            const why = await Promise.race([woken, done.then(() => 'done' as const)])
            clearTimeout(timer)
            wake = undefined
            if (why === 'done') break
            if (why === 'idle') await stream.write(': keep-alive\n\n')
            continue
          }
          if (dropped > 0) {
            await stream.writeSSE({ event: 'dropped', data: JSON.stringify({ count: dropped }) })
            dropped = 0
          }
          const event = queue.shift() as NodeEvent
          await stream.writeSSE({ id: String(++seq), event: event.type, data: JSON.stringify(event) })
        }
      } finally {
        unsubscribe()
      }
    })
  })
}
