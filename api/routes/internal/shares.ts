import { createRoute, type OpenAPIHono } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import type { InternalApiPorts } from '../../deps.ts'
import { readShare, sharePage, verifyRecord } from '../../operations.ts'
import { knownQuery } from '../../paging.ts'
import * as present from '../../present.ts'
import { DataHashParams, notFoundResponse } from '../../schemas/common.ts'
import { internalEdgeResponses } from '../../schemas/internal.ts'
import { VerifyResponseSchema } from '../../schemas/records.ts'
import { ShareIdParams, ShareListQuery, ShareListSchema, ShareResourceSchema } from '../../schemas/share.ts'

/**
 * Reads for the operator (the dashboard): `/shares` and `/shares/{share_id}`, in and out, as the
 * external `/v1/shares` shows them, and `/audit/{data_hash}/verify`, the verification result next
 * to the internal `/audit/{data_hash}/bundle`. No key scope is checked here: on loopback the
 * internal API is the operator's, elsewhere every path needs an admin key (`createInternalApp`).
 */
export function registerShareReadRoutes(app: OpenAPIHono<ApiEnv>, ports: InternalApiPorts) {
  const tags = ['shares']
  app.openapi(
    createRoute({
      method: 'get',
      path: '/shares',
      operationId: 'listSharesOperator',
      tags,
      summary: 'Shares in and out, newest first, with delivery and audit state, a page at a time',
      description:
        'At most `limit` shares and `next_after`, the cursor of the next page (null on the last page), as `/v1/shares` pages them. Unknown query parameters are refused with 422 `unknown_query_parameter`.',
      middleware: [knownQuery(ShareListQuery)] as const,
      request: { query: ShareListQuery },
      responses: {
        ...internalEdgeResponses,
        200: { content: { 'application/json': { schema: ShareListSchema } }, description: 'shares' }
      }
    }),
    async (c) => {
      const { shares, next } = await sharePage(ports.shares, c.req.valid('query'), {
        signal: c.req.raw.signal
      })
      return c.json(present.shareList(shares, next), 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/shares/{share_id}',
      operationId: 'getShareOperator',
      tags,
      summary: 'One share and where its delivery and audit stand',
      request: { params: ShareIdParams },
      responses: {
        ...internalEdgeResponses,
        200: { content: { 'application/json': { schema: ShareResourceSchema } }, description: 'the share' },
        ...notFoundResponse
      }
    }),
    async (c) => {
      const view = await readShare(ports.shares, c.req.valid('param').share_id, { signal: c.req.raw.signal })
      return c.json(present.shareResource(view), 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/audit/{data_hash}/verify',
      operationId: 'verifyDataHashOperator',
      tags: ['status'],
      summary: 'What the chain shows for a data hash (as the external `/v1/audit/{data_hash}`)',
      request: { params: DataHashParams },
      responses: {
        ...internalEdgeResponses,
        200: {
          content: { 'application/json': { schema: VerifyResponseSchema } },
          description: 'verification'
        }
      }
    }),
    async (c) => {
      const hash = c.req.valid('param').data_hash
      const v = await verifyRecord(ports.audit, hash, { signal: c.req.raw.signal })
      return c.json(present.verification(hash, v), 200)
    }
  )
}
