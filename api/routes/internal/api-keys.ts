import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { ApiKeyInfo } from '../../../node/core/ports.ts'
import type { ApiEnv } from '../../context.ts'
import type { InternalApiPorts } from '../../deps.ts'
import type { ScopeGuards } from '../../middleware/guards.ts'
import { afterQuery, decodeCursor, encodeCursor, knownQuery, pageOf } from '../../paging.ts'
import { ErrorSchema, limitQuery, notFoundResponse } from '../../schemas/common.ts'
import {
  NextAfterSchema,
  ApiKeyIdParams,
  ApiKeyInfoSchema,
  CreateApiKeySchema,
  CreatedApiKeySchema,
  internalEdgeResponses
} from '../../schemas/internal.ts'

export function apiKeyInfo(k: ApiKeyInfo): z.infer<typeof ApiKeyInfoSchema> {
  return {
    id: k.id,
    name: k.name,
    scopes: [...k.scopes],
    created_at: k.createdAt,
    expires_at: k.expiresAt,
    revoked_at: k.revokedAt,
    last_used_at: k.lastUsedAt
  }
}

const ListQuery = z.object({ limit: limitQuery(1000, 100), after: afterQuery })

/** `/api-keys`: create (the key is in this answer and nowhere else), list, revoke. */
export function registerApiKeyRoutes(app: OpenAPIHono<ApiEnv>, ports: InternalApiPorts, guards: ScopeGuards) {
  const tags = ['API keys']
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api-keys',
      operationId: 'createApiKey',
      tags,
      summary: 'Create an API key; the key is shown once',
      middleware: [guards.body] as const,
      request: { body: { content: { 'application/json': { schema: CreateApiKeySchema } }, required: true } },
      responses: {
        ...internalEdgeResponses,
        201: { content: { 'application/json': { schema: CreatedApiKeySchema } }, description: 'created' },
        422: { content: { 'application/json': { schema: ErrorSchema } }, description: 'invalid' }
      }
    }),
    async (c) => {
      const body = c.req.valid('json')
      const { key, info } = ports.apiKeys.create({
        name: body.name,
        scopes: body.scopes,
        expiresAt: body.expires_at ? new Date(body.expires_at) : null
      })
      const detail = { key_id: info.id, name: info.name, scopes: info.scopes, client: c.get('clientAddress') }
      ports.securityLog.append('api_key.created', detail)
      return c.json({ ...apiKeyInfo(info), key }, 201)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api-keys',
      operationId: 'listApiKeys',
      tags,
      summary: 'API keys (never the keys themselves), oldest first, a page at a time',
      middleware: [knownQuery(ListQuery)] as const,
      request: { query: ListQuery },
      responses: {
        ...internalEdgeResponses,
        200: {
          content: {
            'application/json': {
              schema: z.object({
                api_keys: z.array(ApiKeyInfoSchema),
                count: z.number().int(),
                next_after: NextAfterSchema
              })
            }
          },
          description: 'keys'
        }
      }
    }),
    (c) => {
      const { limit, after } = c.req.valid('query')
      const from = after === undefined ? undefined : decodeCursor('api_keys', after, ['s', 's'])
      // Keys are never deleted (revoked ones are kept) and a new key is the newest: pages stay put.
      const page = pageOf(ports.apiKeys.list(), (k) => [k.createdAt, k.id], from, limit)
      const next = page.next === null ? null : encodeCursor('api_keys', page.next)
      return c.json({ api_keys: page.items.map(apiKeyInfo), count: page.items.length, next_after: next }, 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api-keys/{id}',
      operationId: 'revokeApiKey',
      tags,
      summary: 'Revoke an API key (kept, marked revoked)',
      request: { params: ApiKeyIdParams },
      responses: {
        ...internalEdgeResponses,
        200: { content: { 'application/json': { schema: ApiKeyInfoSchema } }, description: 'revoked' },
        ...notFoundResponse
      }
    }),
    (c) => {
      const info = ports.apiKeys.revoke(c.req.valid('param').id)
      ports.securityLog.append('api_key.revoked', { key_id: info.id, client: c.get('clientAddress') })
      return c.json(apiKeyInfo(info), 200)
    }
  )
}
