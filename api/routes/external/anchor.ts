import { createRoute, type OpenAPIHono } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import type { ExternalApiPorts } from '../../deps.ts'
import { acceptShare, readRecord, verifyRecord } from '../../operations.ts'
import * as present from '../../present.ts'
import { DataHashParams, ErrorSchema, errorResponses, notFoundResponse } from '../../schemas/common.ts'
import { PeerNamesSchema, PeersQuerySchema, NetworkStatsSchema } from '../../schemas/network.ts'
import {
  ComplianceHistorySchema,
  ComplianceQuerySchema,
  DataResponseSchema,
  parseFilters,
  VerifyResponseSchema
} from '../../schemas/records.ts'
import { ShareDataResponseSchema, ShareRequestSchema } from '../../schemas/share.ts'
import type { ScopeGuards } from '../../middleware/guards.ts'

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

  app.openapi(
    createRoute({
      method: 'get',
      path: '/data/{data_hash}',
      tags,
      summary: 'A stored record by the SHA-256 of its plaintext',
      middleware: [guards.read] as const,
      request: { params: DataHashParams },
      responses: {
        200: { content: { 'application/json': { schema: DataResponseSchema } }, description: 'the record' },
        ...notFoundResponse,
        ...errorResponses
      }
    }),
    async (c) => {
      const found = await readRecord(ports.data, c.req.valid('param').data_hash, { signal: c.req.raw.signal })
      return c.json(present.record(found), 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/verify_data/{data_hash}',
      tags,
      summary: 'Whether the chain holds a share event for this hash, with evidence',
      middleware: [guards.read] as const,
      request: { params: DataHashParams },
      responses: {
        200: {
          content: { 'application/json': { schema: VerifyResponseSchema } },
          description: 'verification'
        },
        ...errorResponses
      }
    }),
    async (c) => {
      const hash = c.req.valid('param').data_hash
      const v = await verifyRecord(ports.audit, hash, { signal: c.req.raw.signal })
      return c.json(
        {
          hash,
          verified: v.verified,
          event_type: v.eventType,
          evidence: present.evidence(v),
          _metadata: present.metadata(null)
        },
        200
      )
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/compliance_history',
      tags,
      summary: 'Audit events from the local index of the chain, filtered by type',
      middleware: [guards.read] as const,
      request: { query: ComplianceQuerySchema },
      responses: {
        200: { content: { 'application/json': { schema: ComplianceHistorySchema } }, description: 'history' },
        ...errorResponses
      }
    }),
    async (c) => {
      const q = c.req.valid('query')
      const filters = parseFilters(q.filters)
      const events = await ports.audit.complianceHistory(
        { eventTypes: filters, limit: q.limit ?? 100, ...(q.data_hash ? { dataHash: q.data_hash } : {}) },
        { signal: c.req.raw.signal }
      )
      const history = events.map(present.complianceEvent)
      return c.json({ history, count: history.length, filters, _metadata: present.metadata(null) }, 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/network/stats',
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
      const { healthy } = c.req.valid('query')
      const peers = await ports.network.peers(healthy === undefined ? {} : { healthy }, {
        signal: c.req.raw.signal
      })
      const names = peers.map((p) => p.peerId)
      return c.json({ peers: names, count: names.length, _metadata: present.metadata(null) }, 200)
    }
  )
}
