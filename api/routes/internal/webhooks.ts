import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import { webhookFields as webhookJson } from '../../../node/core/webhooks.ts'
import type { ApiEnv } from '../../context.ts'
import type { InternalApiPorts } from '../../deps.ts'
import type { ScopeGuards } from '../../middleware/guards.ts'
import { afterQuery, decodeCursor, encodeCursor, knownQuery, pageOf } from '../../paging.ts'
import { ErrorSchema, limitQuery, notFoundResponse } from '../../schemas/common.ts'
import { internalEdgeResponses, NextAfterSchema } from '../../schemas/internal.ts'
import {
  CreatedWebhookSchema,
  CreateWebhookSchema,
  WebhookIdParams,
  WebhookSchema
} from '../../schemas/webhooks.ts'

const ListQuery = z.object({ limit: limitQuery(1000, 100), after: afterQuery })

/** `/webhooks`: create (the secret is in this answer and nowhere else), list, pause, resume, delete. */
export function registerWebhookRoutes(
  app: OpenAPIHono<ApiEnv>,
  ports: InternalApiPorts,
  guards: ScopeGuards
) {
  const tags = ['webhooks']
  const logChange = (client: string, change: string, id: string) =>
    ports.securityLog.append('config.changed', { change, webhook_id: id, client })
  const one = { content: { 'application/json': { schema: WebhookSchema } }, description: 'the subscription' }
  app.openapi(
    createRoute({
      method: 'post',
      path: '/webhooks',
      operationId: 'createWebhook',
      tags,
      summary: 'Subscribe a URL to the events from now on; the signing secret is shown once',
      middleware: [guards.body] as const,
      request: { body: { content: { 'application/json': { schema: CreateWebhookSchema } }, required: true } },
      responses: {
        ...internalEdgeResponses,
        201: { content: { 'application/json': { schema: CreatedWebhookSchema } }, description: 'created' },
        422: {
          content: { 'application/json': { schema: ErrorSchema } },
          description: 'invalid, or a URL of this node (code webhook_url_refused)'
        }
      }
    }),
    async (c) => {
      const body = c.req.valid('json')
      const { secret, view } = await ports.webhooks.create(
        { url: body.url, eventTypes: body.event_types },
        { signal: c.req.raw.signal }
      )
      // A subscription is a way out for the node's events: every change goes to the security log.
      ports.securityLog.append('config.changed', {
        change: 'webhook.created',
        webhook_id: view.id,
        url: view.url,
        event_types: [...view.eventTypes],
        client: c.get('clientAddress')
      })
      return c.json({ ...webhookJson(view), secret }, 201, { Location: `/webhooks/${view.id}` })
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/webhooks',
      operationId: 'listWebhooks',
      tags,
      summary:
        'Subscriptions with where their deliveries stand (never the secrets), oldest first, a page at a time',
      middleware: [knownQuery(ListQuery)] as const,
      request: { query: ListQuery },
      responses: {
        ...internalEdgeResponses,
        200: {
          content: {
            'application/json': {
              schema: z.object({
                webhooks: z.array(WebhookSchema),
                count: z.number().int(),
                next_after: NextAfterSchema
              })
            }
          },
          description: 'subscriptions'
        }
      }
    }),
    (c) => {
      const { limit, after } = c.req.valid('query')
      const from = after === undefined ? undefined : decodeCursor('webhooks', after, ['s', 's'])
      // By creation, as they are stored: a new subscription is the newest, a deleted one leaves no gap.
      const page = pageOf(ports.webhooks.list(), (w) => [w.createdAt, w.id], from, limit)
      const next = page.next === null ? null : encodeCursor('webhooks', page.next)
      return c.json(
        { webhooks: page.items.map(webhookJson), count: page.items.length, next_after: next },
        200
      )
    }
  )

  for (const action of ['pause', 'resume'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/webhooks/{id}/${action}`,
        operationId: `${action}Webhook`,
        tags,
        summary:
          action === 'pause'
            ? 'Stop delivering (the cursor stays; resume goes on from it)'
            : 'Deliver again from the cursor; a failed subscription retries the event it stopped at',
        request: { params: WebhookIdParams },
        responses: { 200: one, ...notFoundResponse, ...internalEdgeResponses }
      }),
      (c) => {
        const view = ports.webhooks[action](c.req.valid('param').id)
        logChange(c.get('clientAddress'), `webhook.${action}d`, view.id)
        return c.json(webhookJson(view), 200)
      }
    )
  }

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/webhooks/{id}',
      operationId: 'deleteWebhook',
      tags,
      summary: 'Delete a subscription',
      request: { params: WebhookIdParams },
      responses: { 200: one, ...notFoundResponse, ...internalEdgeResponses }
    }),
    (c) => {
      const view = ports.webhooks.delete(c.req.valid('param').id)
      logChange(c.get('clientAddress'), 'webhook.deleted', view.id)
      return c.json(webhookJson(view), 200)
    }
  )
}
