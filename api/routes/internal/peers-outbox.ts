import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { OutboxEntryView } from '../../../node/core/ports.ts'
import { AUDIT_STATES } from '../../../node/core/share.ts'
import type { ApiEnv } from '../../context.ts'
import type { InternalApiPorts } from '../../deps.ts'
import { listPeers } from '../../operations.ts'
import * as present from '../../present.ts'
import { ErrorSchema, limitQuery, notFoundResponse } from '../../schemas/common.ts'
import {
  internalEdgeResponses,
  OutboxEntrySchema,
  OutboxIdParams,
  PeerIdParams
} from '../../schemas/internal.ts'
import { PeerListSchema, PeerSchema, PeersQuerySchema } from '../../schemas/network.ts'

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
      summary: 'Known peers with trust and health',
      request: { query: PeersQuerySchema },
      responses: {
        ...internalEdgeResponses,
        200: { content: { 'application/json': { schema: PeerListSchema } }, description: 'peers' }
      }
    }),
    async (c) => {
      const views = await listPeers(ports.network, c.req.valid('query').healthy, { signal: c.req.raw.signal })
      return c.json(present.peerList(views), 200)
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
      summary: 'Audit events waiting for or done with the chain',
      request: {
        query: z.object({
          state: z
            .enum(AUDIT_STATES)
            .optional()
            .openapi({ param: { name: 'state', in: 'query' } }),
          limit: limitQuery(1000, 100)
        })
      },
      responses: {
        ...internalEdgeResponses,
        200: {
          content: {
            'application/json': {
              schema: z.object({ entries: z.array(OutboxEntrySchema), count: z.number().int() })
            }
          },
          description: 'entries'
        }
      }
    }),
    async (c) => {
      const { state, limit } = c.req.valid('query')
      const entries = await ports.outbox.list(state ? { state, limit } : { limit }, {
        signal: c.req.raw.signal
      })
      return c.json({ entries: entries.map(outboxEntry), count: entries.length }, 200)
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
