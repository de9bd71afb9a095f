import { createRoute, type OpenAPIHono } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import type { ExternalApiPorts } from '../../deps.ts'
import type { ScopeGuards } from '../../middleware/guards.ts'
import { readShare, sharePage } from '../../operations.ts'
import * as present from '../../present.ts'
import { knownQuery } from '../../paging.ts'
import { ErrorSchema, errorResponses, notFoundResponse } from '../../schemas/common.ts'
import {
  ShareIdParams,
  ShareListQuery,
  ShareListSchema,
  ShareRequestSchema,
  ShareResourceSchema
} from '../../schemas/share.ts'
import { answerResponse, jsonAnswer, shareAnswer } from '../../share-answer.ts'

/** `/v1/shares`: create a share, read one, list them. */
export function registerV1Shares(app: OpenAPIHono<ApiEnv>, ports: ExternalApiPorts, guards: ScopeGuards) {
  const tags = ['shares']
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/shares',
      operationId: 'createShare',
      tags,
      summary: 'Share data with a recipient',
      middleware: [guards.share, guards.body] as const,
      request: { body: { content: { 'application/json': { schema: ShareRequestSchema } }, required: true } },
      responses: {
        201: { content: { 'application/json': { schema: ShareResourceSchema } }, description: 'accepted' },
        501: {
          content: { 'application/json': { schema: ErrorSchema } },
          description: 'payments not supported'
        },
        ...errorResponses
      }
    }),
    async (c) => {
      const answer = await shareAnswer(c, ports.shares, c.req.valid('json'), (view) =>
        jsonAnswer(201, present.shareResource(view), { location: `/v1/shares/${view.shareId}` })
      )
      return answerResponse(c, answer)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/shares/{share_id}',
      operationId: 'getShare',
      tags,
      summary: 'One share and where its delivery and audit stand',
      middleware: [guards.read] as const,
      request: { params: ShareIdParams },
      responses: {
        200: { content: { 'application/json': { schema: ShareResourceSchema } }, description: 'the share' },
        ...notFoundResponse,
        ...errorResponses
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
      path: '/v1/shares',
      operationId: 'listShares',
      tags,
      summary: 'Shares, newest first, a page at a time',
      description:
        'At most `limit` shares, newest first (in the order this node stored them), and `next_after`, the cursor of the next page; null on the last page. Shares stored while a client pages appear on the first page, never in the pages after a cursor. Unknown query parameters are refused with 422 `unknown_query_parameter`.',
      middleware: [guards.read, knownQuery(ShareListQuery)] as const,
      request: { query: ShareListQuery },
      responses: {
        200: { content: { 'application/json': { schema: ShareListSchema } }, description: 'shares' },
        ...errorResponses
      }
    }),
    async (c) => {
      const { shares, next } = await sharePage(ports.shares, c.req.valid('query'), {
        signal: c.req.raw.signal
      })
      return c.json(present.shareList(shares, next), 200)
    }
  )
}
