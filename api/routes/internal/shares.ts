import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import { DELIVERY_STATES, SHARE_ID_PATTERN } from '../../../node/core/share.ts'
import type { ApiEnv } from '../../context.ts'
import type { InternalApiPorts } from '../../deps.ts'
import { readShare, verifyRecord } from '../../operations.ts'
import { afterQuery, decodeCursor, encodeCursor, knownQuery } from '../../paging.ts'
import * as present from '../../present.ts'
import { DataHashParams, limitQuery, notFoundResponse } from '../../schemas/common.ts'
import { internalEdgeResponses } from '../../schemas/internal.ts'
import { VerifyResponseSchema } from '../../schemas/records.ts'
import { ShareListSchema, ShareResourceSchema } from '../../schemas/share.ts'

const ShareIdParams = z.object({
  share_id: z
    .string()
    .regex(SHARE_ID_PATTERN, { message: 'share_id must be 32 lowercase hex digits' })
    .openapi({ param: { name: 'share_id', in: 'path' }, example: '5f0c2a0e9b7d4c1e8a6b3d2f1e0c9b8a' })
})

const ListQuery = z.object({
  state: z
    .enum(DELIVERY_STATES)
    .optional()
    .openapi({ param: { name: 'state', in: 'query' } }),
  limit: limitQuery(1000, 100),
  after: afterQuery
})

// The same cursors as the external `/v1/shares` (one order: the shares' storage order).
const CURSOR = 'shares'

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
      middleware: [knownQuery(ListQuery)] as const,
      request: { query: ListQuery },
      responses: {
        ...internalEdgeResponses,
        200: { content: { 'application/json': { schema: ShareListSchema } }, description: 'shares' }
      }
    }),
    async (c) => {
      const { state, limit, after } = c.req.valid('query')
      const position = after === undefined ? undefined : (decodeCursor(CURSOR, after, ['n'])[0] as number)
      const page = await ports.shares.listShares(
        { limit, ...(state ? { state } : {}), ...(position !== undefined ? { after: position } : {}) },
        { signal: c.req.raw.signal }
      )
      const next = page.nextAfter === null ? null : encodeCursor(CURSOR, [page.nextAfter])
      return c.json(present.shareList(page.shares, next), 200)
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
