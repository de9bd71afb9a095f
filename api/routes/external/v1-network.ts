import { createRoute, type OpenAPIHono } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import type { ExternalApiPorts } from '../../deps.ts'
import type { ScopeGuards } from '../../middleware/guards.ts'
import { listPeers } from '../../operations.ts'
import * as present from '../../present.ts'
import { errorResponses } from '../../schemas/common.ts'
import { PeerListSchema, PeersQuerySchema } from '../../schemas/network.ts'
import { registerNetworkStats } from './shared-routes.ts'

/** `/v1/network/...`: statistics and peers with their trust and health. */
export function registerV1Network(app: OpenAPIHono<ApiEnv>, ports: ExternalApiPorts, guards: ScopeGuards) {
  const tags = ['network']
  registerNetworkStats(app, ports, guards, {
    path: '/v1/network/stats',
    operationId: 'getV1NetworkStats',
    tags,
    summary: 'Peer-to-peer statistics'
  })

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/network/peers',
      operationId: 'listPeers',
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
      const views = await listPeers(ports.network, c.req.valid('query').healthy, { signal: c.req.raw.signal })
      return c.json(present.peerList(views), 200)
    }
  )
}
