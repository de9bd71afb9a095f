import { createRoute, type OpenAPIHono } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import type { ExternalApiPorts } from '../../deps.ts'
import type { ScopeGuards } from '../../middleware/guards.ts'
import { openPath } from '../../middleware/guards.ts'
import { onlyQueryParameters } from '../../middleware/query-parameters.ts'
import { anchorComplianceHistory, listPeers, verifyRecord } from '../../operations.ts'
import * as present from '../../present.ts'
import * as anchor from '../../present-anchor.ts'
import {
  ANCHOR_COMPLIANCE_PARAMETERS,
  AnchorComplianceHistorySchema,
  AnchorComplianceQuerySchema,
  AnchorNetworkStatsSchema,
  AnchorPeersQuerySchema,
  AnchorPeersSchema,
  AnchorVerifyResponseSchema
} from '../../schemas/anchor.ts'
import { DataHashParams, ErrorSchema, errorResponses } from '../../schemas/common.ts'
import { ShareDataResponseSchema, ShareRequestSchema } from '../../schemas/share.ts'
import { answerResponse, jsonAnswer, shareAnswer } from '../../share-answer.ts'
import { registerRecordRead } from './shared-routes.ts'

/**
 * The anchor's paths, answering as its code does (README, "Compatibility with DataMgmt Node
 * (Python)"), so existing clients keep working; `/v1` has the same capabilities in its own shapes.
 */
export function registerAnchorRoutes(app: OpenAPIHono<ApiEnv>, ports: ExternalApiPorts, guards: ScopeGuards) {
  const tags = ['anchor-compatible']
  app.openapi(
    createRoute({
      method: 'post',
      path: '/share_data',
      operationId: 'shareData',
      tags,
      summary: 'Share data with a recipient (accepted before the chain confirms)',
      middleware: [guards.share, guards.anchorBody] as const,
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
      const answer = await shareAnswer(c, ports.shares, c.req.valid('json'), (view) =>
        jsonAnswer(201, present.shareDataResponse(view))
      )
      return answerResponse(c, answer)
    }
  )

  registerRecordRead(app, ports, guards, {
    path: '/data/{data_hash}',
    operationId: 'getData',
    tags,
    summary: 'A stored record by the SHA-256 of its plaintext'
  })

  app.openapi(
    createRoute({
      method: 'get',
      path: '/verify_data/{data_hash}',
      operationId: 'verifyData',
      tags,
      summary: 'Whether the chain holds a share event for this hash, with evidence; no key needed',
      description:
        'Verification by anyone is the point: the answer holds only what the chain and the identity registry show.',
      security: [],
      middleware: [openPath] as const,
      request: { params: DataHashParams },
      responses: {
        200: {
          content: { 'application/json': { schema: AnchorVerifyResponseSchema } },
          description: 'verification'
        },
        ...errorResponses
      }
    }),
    async (c) => {
      const hash = c.req.valid('param').data_hash
      const v = await verifyRecord(ports.audit, hash, { signal: c.req.raw.signal })
      return c.json(anchor.anchorVerification(hash, v), 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/compliance_history',
      operationId: 'getComplianceHistory',
      tags,
      summary: 'Audit events from the local index of the chain, filtered by type, newest first, in pages',
      middleware: [guards.anchorRead, onlyQueryParameters(ANCHOR_COMPLIANCE_PARAMETERS)] as const,
      request: { query: AnchorComplianceQuerySchema },
      responses: {
        200: {
          content: { 'application/json': { schema: AnchorComplianceHistorySchema } },
          description: 'history'
        },
        ...errorResponses
      }
    }),
    async (c) => {
      const query = c.req.valid('query')
      const page = await anchorComplianceHistory(ports.audit, query, { signal: c.req.raw.signal })
      return c.json(anchor.anchorComplianceHistory(page.events, query.filters, page.more), 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/network/stats',
      operationId: 'getNetworkStats',
      tags,
      summary: 'Peer-to-peer statistics',
      middleware: [guards.anchorRead] as const,
      responses: {
        200: {
          content: { 'application/json': { schema: AnchorNetworkStatsSchema } },
          description: 'statistics'
        },
        ...errorResponses
      }
    }),
    async (c) => {
      const options = { signal: c.req.raw.signal }
      const [stats, healthy] = await Promise.all([
        ports.network.stats(options),
        listPeers(ports.network, true, options)
      ])
      return c.json(anchor.anchorNetworkStats(stats, healthy), 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/network/peers',
      operationId: 'getNetworkPeers',
      tags,
      summary: 'Known peers as the anchor lists them; ?healthy=true for healthy ones only',
      middleware: [guards.anchorRead] as const,
      request: { query: AnchorPeersQuerySchema },
      responses: {
        200: { content: { 'application/json': { schema: AnchorPeersSchema } }, description: 'peers' },
        ...errorResponses
      }
    }),
    async (c) => {
      // external_api.py: healthy only when asked, otherwise every known peer (not only unhealthy ones).
      const healthy = c.req.valid('query').healthy ? true : undefined
      const peers = await listPeers(ports.network, healthy, { signal: c.req.raw.signal })
      return c.json(anchor.anchorPeers(peers), 200)
    }
  )
}
