import { z } from '@hono/zod-openapi'
import {
  MAX_WEBHOOK_EVENT_TYPE_LENGTH,
  MAX_WEBHOOK_EVENT_TYPES,
  MAX_WEBHOOK_URL_LENGTH,
  WEBHOOK_EVENT_TYPE_PATTERN,
  WEBHOOK_STATES
} from '../../node/core/webhooks.ts'

/** Schemas of the internal API's webhook subscriptions. */

export const WebhookSchema = z
  .object({
    id: z.string().openapi({ example: 'wh_3f2a9c0d1e4b5a69' }),
    url: z.string(),
    event_types: z.array(z.string()).openapi({ description: 'type prefixes; every event when empty' }),
    state: z.enum(WEBHOOK_STATES),
    cursor: z.number().int().openapi({ description: 'id of the last event delivered' }),
    failing_event_id: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'the event being retried, or the one a failed subscription stopped at' }),
    failing_since: z.string().nullable(),
    attempts: z.number().int(),
    next_attempt_at: z.string().nullable(),
    last_error: z.string().nullable(),
    last_delivered_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string()
  })
  .openapi('Webhook')

export const CreateWebhookSchema = z
  .object({
    url: z
      .string({ message: 'url must be a string' })
      .min(1, { message: 'url must not be empty' })
      .max(MAX_WEBHOOK_URL_LENGTH, { message: `url must be at most ${MAX_WEBHOOK_URL_LENGTH} characters` })
      .openapi({ example: 'http://127.0.0.1:9000/hooks/dmn' }),
    event_types: z
      .array(
        z
          .string()
          .min(1)
          .max(MAX_WEBHOOK_EVENT_TYPE_LENGTH)
          .regex(WEBHOOK_EVENT_TYPE_PATTERN, { message: 'event types are prefixes of a-z, 0-9, _ and .' })
      )
      .max(MAX_WEBHOOK_EVENT_TYPES)
      .default([])
      .openapi({ example: ['share.', 'audit.confirmed'] })
  })
  .strict()
  .openapi('CreateWebhook', {
    example: { url: 'http://127.0.0.1:9000/hooks/dmn', event_types: ['share.', 'audit.confirmed'] }
  })

export const CreatedWebhookSchema = WebhookSchema.extend({
  secret: z.string().openapi({
    description: 'whsec_ + base64; shown once',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
  })
}).openapi('CreatedWebhook')

export const WebhookIdParams = z.object({
  id: z
    .string()
    .regex(/^wh_[0-9a-f]{16}$/, { message: 'id must be wh_ and 16 hex digits' })
    .openapi({ param: { name: 'id', in: 'path' } })
})
