import { createRoute, type OpenAPIHono } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import type { ExternalApiPorts } from '../../deps.ts'
import type { ScopeGuards } from '../../middleware/guards.ts'
import { readRecord, verifyRecord } from '../../operations.ts'
import * as present from '../../present.ts'
import { DataHashParams, errorResponses, notFoundResponse } from '../../schemas/common.ts'
import {
  ComplianceHistorySchema,
  ComplianceQuerySchema,
  DataResponseSchema,
  parseFilters,
  VerifyResponseSchema
} from '../../schemas/records.ts'

/** `/v1/data/{hash}` and `/v1/audit/...`: records and their audit trail. */
export function registerV1Records(app: OpenAPIHono<ApiEnv>, ports: ExternalApiPorts, guards: ScopeGuards) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/data/{data_hash}',
      tags: ['data'],
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
      path: '/v1/audit/{data_hash}',
      tags: ['audit'],
      summary: 'On-chain verification of a data hash, with evidence',
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
      path: '/v1/audit',
      tags: ['audit'],
      summary: 'Audit events (compliance history)',
      middleware: [guards.read] as const,
      request: { query: ComplianceQuerySchema },
      responses: {
        200: { content: { 'application/json': { schema: ComplianceHistorySchema } }, description: 'events' },
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
}
