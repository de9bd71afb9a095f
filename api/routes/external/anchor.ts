import { createRoute, type OpenAPIHono } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import type { ExternalApiPorts } from '../../deps.ts'
import type { ScopeGuards } from '../../middleware/guards.ts'
import { acceptShare, listPeers } from '../../operations.ts'
import * as present from '../../present.ts'
import { ErrorSchema, errorResponses } from '../../schemas/common.ts'
import { PeerNamesSchema, PeersQuerySchema } from '../../schemas/network.ts'
import { ShareDataResponseSchema, ShareRequestSchema } from '../../schemas/share.ts'
import {
  registerComplianceHistory,
  registerNetworkStats,
  registerRecordRead,
  registerVerify
} from './shared-routes.ts'

/**
 * The anchor's documented paths and bodies, unchanged, so existing clients keep working.
 */
export function registerAnchorRoutes(app: OpenAPIHono<ApiEnv>, ports: ExternalApiPorts, guards: ScopeGuards) {
  const tags = ['anchor-compatible']
  app.openapi(
    createRoute({
      method: 'post',
      path: '/share_data',
      tags,
      summary: 'Share data with a recipient (accepted before the chain confirms)',
      middleware: [guards.share, guards.body] as const,
      request: { body: { content: { 'application/json': { schema: ShareRequestSchema } }, required: true } },
      responses: {
        201: {
          content: { 'application/json': { schema: ShareDataResponseSchema } },
          description: 'accepted'
        },
        501: {
          content: { 'application/json': { schema: ErrorSchema } },
          description: 'payments not supported'
        },
        ...errorResponses
      }
    }),
    async (c) => {
      const view = await acceptShare(ports.shares, c.req.valid('json'), { signal: c.req.raw.signal })
      return c.json(present.shareDataResponse(view), 201)
    }
  )

  registerRecordRead(app, ports, guards, {
    path: '/data/{data_hash}',
    tags,
    summary: 'A stored record by the SHA-256 of its plaintext'
  })
  registerVerify(app, ports, guards, {
    path: '/verify_data/{data_hash}',
    tags,
    summary: 'Whether the chain holds a share event for this hash, with evidence'
  })
  registerComplianceHistory(app, ports, guards, {
    path: '/compliance_history',
    tags,
    summary: 'Audit events from the local index of the chain, filtered by type'
  })
  registerNetworkStats(app, ports, guards, {
    path: '/network/stats',
    tags,
    summary: 'Peer-to-peer statistics'
  })

  app.openapi(
    createRoute({
      method: 'get',
      path: '/network/peers',
      tags,
      summary: 'Known peers (PeerIds), optionally only healthy ones',
      middleware: [guards.read] as const,
      request: { query: PeersQuerySchema },
      responses: {
        200: { content: { 'application/json': { schema: PeerNamesSchema } }, description: 'peers' },
        ...errorResponses
      }
    }),
    async (c) => {
      const peers = await listPeers(ports.network, c.req.valid('query').healthy, { signal: c.req.raw.signal })
      return c.json(present.peerNames(peers), 200)
    }
  )
}
