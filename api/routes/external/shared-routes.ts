import { createRoute, type OpenAPIHono } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import type { ExternalApiPorts } from '../../deps.ts'
import type { ScopeGuards } from '../../middleware/guards.ts'
import { readRecord, verifyRecord } from '../../operations.ts'
import * as present from '../../present.ts'
import { DataHashParams, errorResponses, notFoundResponse } from '../../schemas/common.ts'
import { NetworkStatsSchema } from '../../schemas/network.ts'
import { DataResponseSchema, VerifyResponseSchema } from '../../schemas/records.ts'

/**
 * Route definitions reused across paths, so that paths serving the same thing stay the same in
 * behaviour and schema and differ only in path, tags and wording: the record read at the anchor's
 * `/data/{hash}` and `/v1/data/{hash}`; the others under `/v1` (the anchor's paths answer in the
 * anchor's shapes, routes/external/anchor.ts).
 */
export interface RouteText {
  readonly path: string
  /** Unique across the document (redocly's operation-operationId). */
  readonly operationId: string
  readonly tags: string[]
  readonly summary: string
  readonly description?: string
}

type App = OpenAPIHono<ApiEnv>

export function registerRecordRead(app: App, ports: ExternalApiPorts, guards: ScopeGuards, text: RouteText) {
  app.openapi(
    createRoute({
      method: 'get',
      path: text.path,
      operationId: text.operationId,
      tags: text.tags,
      summary: text.summary,
      middleware: [guards.read] as const,
      request: { params: DataHashParams },
      responses: {
        200: {
          content: { 'application/json': { schema: DataResponseSchema } },
          description: text.description ?? 'the record'
        },
        ...notFoundResponse,
        ...errorResponses
      }
    }),
    async (c) => {
      const found = await readRecord(ports.data, c.req.valid('param').data_hash, { signal: c.req.raw.signal })
      return c.json(present.record(found), 200)
    }
  )
}

export function registerVerify(app: App, ports: ExternalApiPorts, guards: ScopeGuards, text: RouteText) {
  app.openapi(
    createRoute({
      method: 'get',
      path: text.path,
      operationId: text.operationId,
      tags: text.tags,
      summary: text.summary,
      middleware: [guards.read] as const,
      request: { params: DataHashParams },
      responses: {
        200: {
          content: { 'application/json': { schema: VerifyResponseSchema } },
          description: text.description ?? 'verification'
        },
        ...errorResponses
      }
    }),
    async (c) => {
      const hash = c.req.valid('param').data_hash
      const v = await verifyRecord(ports.audit, hash, { signal: c.req.raw.signal })
      return c.json(present.verification(hash, v), 200)
    }
  )
}

export function registerNetworkStats(
  app: App,
  ports: ExternalApiPorts,
  guards: ScopeGuards,
  text: RouteText
) {
  app.openapi(
    createRoute({
      method: 'get',
      path: text.path,
      operationId: text.operationId,
      tags: text.tags,
      summary: text.summary,
      middleware: [guards.read] as const,
      responses: {
        200: {
          content: { 'application/json': { schema: NetworkStatsSchema } },
          description: text.description ?? 'statistics'
        },
        ...errorResponses
      }
    }),
    async (c) => c.json(present.networkStats(await ports.network.stats({ signal: c.req.raw.signal })), 200)
  )
}
