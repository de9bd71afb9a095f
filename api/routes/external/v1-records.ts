import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import type { ExternalApiPorts } from '../../deps.ts'
import type { ScopeGuards } from '../../middleware/guards.ts'
import { complianceHistory, exportBundle } from '../../operations.ts'
import { afterQuery, decodeCursor, encodeCursor, knownQuery } from '../../paging.ts'
import * as present from '../../present.ts'
import { DataHashParams, errorResponses, notFoundResponse } from '../../schemas/common.ts'
import {
  ComplianceHistorySchema,
  ComplianceQuerySchema,
  EvidenceBundleSchema
} from '../../schemas/records.ts'
import { registerRecordRead, registerVerify } from './shared-routes.ts'

const AuditQuery = ComplianceQuerySchema.extend({ after: afterQuery })

const AuditPageSchema = ComplianceHistorySchema.extend({
  next_after: z
    .string()
    .nullable()
    .openapi({ description: 'the cursor of the next page (send it as `after`); null on the last page' })
}).openapi('AuditPage')

const CURSOR = 'audit'

/** `/v1/data/{hash}` and `/v1/audit/...`: records and their audit trail. */
export function registerV1Records(app: OpenAPIHono<ApiEnv>, ports: ExternalApiPorts, guards: ScopeGuards) {
  registerRecordRead(app, ports, guards, {
    path: '/v1/data/{data_hash}',
    operationId: 'getRecord',
    tags: ['data'],
    summary: 'A stored record by the SHA-256 of its plaintext'
  })
  registerVerify(app, ports, guards, {
    path: '/v1/audit/{data_hash}',
    operationId: 'verifyDataHash',
    tags: ['audit'],
    summary: 'On-chain verification of a data hash, with evidence'
  })
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/audit/{data_hash}/bundle',
      operationId: 'getEvidenceBundle',
      tags: ['audit'],
      summary: 'The evidence bundle of a data hash, checkable by anyone against the chain',
      middleware: [guards.read] as const,
      request: { params: DataHashParams },
      responses: {
        200: {
          content: { 'application/json': { schema: EvidenceBundleSchema } },
          description: 'every share of the data hash this node is party to, with its evidence'
        },
        ...notFoundResponse,
        ...errorResponses
      }
    }),
    async (c) => {
      const hash = c.req.valid('param').data_hash
      const bundle = await exportBundle(ports.audit, hash, { signal: c.req.raw.signal })
      return c.json(bundle as z.infer<typeof EvidenceBundleSchema>, 200)
    }
  )
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/audit',
      operationId: 'listAuditEvents',
      tags: ['audit'],
      summary: 'Audit events (compliance history), newest first, a page at a time',
      description:
        'At most `limit` events (100 unless given), newest first by their place on chain, and `next_after`, the cursor of the next page; null on the last page. Unknown query parameters are refused with 422 `unknown_query_parameter`.',
      middleware: [guards.read, knownQuery(AuditQuery)] as const,
      request: { query: AuditQuery },
      responses: {
        200: { content: { 'application/json': { schema: AuditPageSchema } }, description: 'events' },
        ...errorResponses
      }
    }),
    async (c) => {
      const query = c.req.valid('query')
      const from = query.after === undefined ? undefined : decodeCursor(CURSOR, query.after, ['n', 'n', 'i'])
      const after = from
        ? {
            blockNumber: from[0] as number,
            logIndex: from[1] as number,
            leafIndex: from[2] === -1 ? null : (from[2] as number)
          }
        : undefined
      const { events, filters, more } = await complianceHistory(ports.audit, query, after, {
        signal: c.req.raw.signal
      })
      const last = events[events.length - 1]
      const next =
        more && last ? encodeCursor(CURSOR, [last.blockNumber, last.logIndex, last.leafIndex ?? -1]) : null
      return c.json({ ...present.complianceHistory(events, filters), next_after: next }, 200)
    }
  )
}
