import { createRoute, type OpenAPIHono } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import type { ExternalApiPorts } from '../../deps.ts'
import type { ScopeGuards } from '../../middleware/guards.ts'
import * as present from '../../present.ts'
import { errorResponses } from '../../schemas/common.ts'
import { NetworkStatsSchema, PeerListSchema, PeersQuerySchema } from '../../schemas/network.ts'

/** `/v1/network/...`: statistics and peers with their trust and health. */
export function registerV1Network(app: OpenAPIHono<ApiEnv>, ports: ExternalApiPorts, guards: ScopeGuards) {
  const tags = ['network']
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/network/stats',
      tags,
      summary: 'Peer-to-peer statistics',
      middleware: [guards.read] as const,
      responses: {
        200: { content: { 'application/json': { schema: NetworkStatsSchema } }, description: 'statistics' },
        ...errorResponses
      }
    }),
    async (c) => c.json(present.networkStats(await ports.network.stats({ signal: c.req.raw.signal })), 200)
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/network/peers',
      tags,
      summary: 'Known peers with trust and health',
      middleware: [guards.read] as const,
      request: { query: PeersQuerySchema },
      responses: {
        200: { content: { 'application/json': { schema: PeerListSchema } }, description: 'peers' },
        ...errorResponses
      }
    }),
    async (c) => {
      const { healthy } = c.req.valid('query')
      const views = await ports.network.peers(healthy === undefined ? {} : { healthy }, {
        signal: c.req.raw.signal
      })
      const peers = views.map(present.peer)
      return c.json({ peers, count: peers.length, _metadata: present.metadata(null) }, 200)
    }
  )
}
