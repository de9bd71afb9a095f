import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { OutboxEntryView } from '../../../node/core/ports.ts'
import { AUDIT_STATES } from '../../../node/core/share.ts'
import type { ApiEnv } from '../../context.ts'
import type { InternalApiPorts } from '../../deps.ts'
import { listPeers } from '../../operations.ts'
import { afterQuery, decodeCursor, encodeCursor, knownQuery, pageOf } from '../../paging.ts'
import * as present from '../../present.ts'
import { booleanQuery, ErrorSchema, limitQuery, notFoundResponse } from '../../schemas/common.ts'
import {
  internalEdgeResponses,
  NextAfterSchema,
  OutboxEntrySchema,
  OutboxIdParams,
  PeerIdParams
} from '../../schemas/internal.ts'
import { PeerListSchema, PeerSchema } from '../../schemas/network.ts'

const PeersQuery = z.object({
  healthy: booleanQuery.openapi({ param: { name: 'healthy', in: 'query' }, example: 'true' }),
  limit: limitQuery(1000, 100),
  after: afterQuery
})

const OutboxQuery = z.object({
  state: z
    .enum(AUDIT_STATES)
    .optional()
    .openapi({ param: { name: 'state', in: 'query' } }),
  limit: limitQuery(1000, 100),
  after: afterQuery
})

function outboxEntry(e: OutboxEntryView): z.infer<typeof OutboxEntrySchema> {
  return {
    id: e.id,
    kind: e.kind,
    share_id: e.shareId,
    state: e.state,
    tx_hash: e.txHash,
    attempts: e.attempts,
    last_error: e.lastError,
    created_at: e.createdAt,
    updated_at: e.updatedAt
  }
}

/** `/peers` (list, allow, deny) and `/outbox` (list, retry). */
export function registerPeerAndOutboxRoutes(app: OpenAPIHono<ApiEnv>, ports: InternalApiPorts) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/peers',
      operationId: 'listPeers',
      tags: ['peers'],
      summary: 'Known peers with trust and health, by PeerId, a page at a time',
      middleware: [knownQuery(PeersQuery)] as const,
      request: { query: PeersQuery },
      responses: {
        ...internalEdgeResponses,
        200: {
          content: { 'application/json': { schema: PeerListSchema.extend({ next_after: NextAfterSchema }) } },
          description: 'peers'
        }
      }
    }),
    async (c) => {
      const { healthy, limit, after } = c.req.valid('query')
      const from = after === undefined ? undefined : decodeCursor('peers', after, ['s'])
      const views = await listPeers(ports.network, healthy, { signal: c.req.raw.signal })
      const page = pageOf(views, (p) => [p.peerId], from, limit)
      const next = page.next === null ? null : encodeCursor('peers', page.next)
      return c.json({ ...present.peerList(page.items), next_after: next }, 200)
    }
  )

  for (const action of ['allow', 'deny'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/peers/{peer_id}/${action}`,
        operationId: `${action}Peer`,
        tags: ['peers'],
        summary: action === 'allow' ? 'Allowlist a peer' : 'Deny a peer and close its connections',
        request: { params: PeerIdParams },
        responses: {
          ...internalEdgeResponses,
          200: { content: { 'application/json': { schema: PeerSchema } }, description: 'the peer' },
          ...notFoundResponse
        }
      }),
      async (c) => {
        const peerId = c.req.valid('param').peer_id
        const view = await ports.network[action](peerId, { signal: c.req.raw.signal })
        const change = action === 'allow' ? 'peer.allowed' : 'peer.denied'
        ports.securityLog.append('config.changed', {
          change,
          peer_id: peerId,
          client: c.get('clientAddress')
        })
        return c.json(present.peer(view), 200)
      }
    )
  }

  app.openapi(
    createRoute({
      method: 'get',
      path: '/outbox',
      operationId: 'listOutbox',
      tags: ['outbox'],
      summary: 'Audit events waiting for or done with the chain, newest first, a page at a time',
      middleware: [knownQuery(OutboxQuery)] as const,
      request: { query: OutboxQuery },
      responses: {
        ...internalEdgeResponses,
        200: {
          content: {
            'application/json': {
              schema: z.object({
                entries: z.array(OutboxEntrySchema),
                count: z.number().int(),
                next_after: NextAfterSchema
              })
            }
          },
          description: 'entries'
        }
      }
    }),
    async (c) => {
      const { state, limit, after } = c.req.valid('query')
      const from = after === undefined ? undefined : (decodeCursor('outbox', after, ['n'])[0] as number)
      // One more than asked for says whether another page follows.
      const found = await ports.outbox.list(
        { limit: limit + 1, ...(state ? { state } : {}), ...(from !== undefined ? { after: from } : {}) },
        { signal: c.req.raw.signal }
      )
      const entries = found.slice(0, limit)
      const last = entries[entries.length - 1]
      const next = found.length > limit && last ? encodeCursor('outbox', [last.id]) : null
      return c.json({ entries: entries.map(outboxEntry), count: entries.length, next_after: next }, 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/outbox/{id}/retry',
      operationId: 'retryOutboxEntry',
      tags: ['outbox'],
      summary: 'Put a failed audit event back in the queue',
      request: { params: OutboxIdParams },
      responses: {
        ...internalEdgeResponses,
        200: { content: { 'application/json': { schema: OutboxEntrySchema } }, description: 'requeued' },
        409: { content: { 'application/json': { schema: ErrorSchema } }, description: 'not failed' },
        ...notFoundResponse
      }
    }),
    async (c) => {
      const entry = await ports.outbox.retry(c.req.valid('param').id, { signal: c.req.raw.signal })
      ports.securityLog.append('config.changed', {
        change: 'outbox.retried',
        id: entry.id,
        client: c.get('clientAddress')
      })
      return c.json(outboxEntry(entry), 200)
    }
  )
}
