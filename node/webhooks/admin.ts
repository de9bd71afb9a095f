import { randomBytes } from 'node:crypto'
import {
  eventTypesProblem,
  InvalidWebhookRequestError,
  WEBHOOK_SECRET_BYTES,
  WEBHOOK_SECRET_PREFIX,
  type WebhookAdmin,
  WebhookNotFoundError
} from '../core/webhooks.ts'
import { type WebhookRepository, webhookView } from '../store/webhooks.ts'
import type { WebhookEventSource } from './delivery-service.ts'
import { checkWebhookUrl, type OwnApis, type Resolver } from './url-guard.ts'

/**
 * Operators' side of the subscriptions, shared by the internal API and `dmn webhooks`. A new
 * subscription starts at the event log's latest id (it gets the events from its creation on) with
 * a fresh secret, returned here and never again.
 */

export interface WebhookAdminComponents {
  readonly subscriptions: () => WebhookRepository
  readonly events: () => Pick<WebhookEventSource, 'latestId'>
  readonly own: OwnApis
  readonly resolve?: Resolver
  /** Told after every change, so a running delivery service acts on it at once. */
  readonly changed?: () => void
}

/** `whsec_` + base64 of 32 random bytes (Standard Webhooks allows 24 to 64). */
export function newWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(WEBHOOK_SECRET_BYTES).toString('base64')
}

export function createWebhookAdmin(c: WebhookAdminComponents): WebhookAdmin {
  const changed = () => c.changed?.()
  const existing = (id: string) => {
    const row = c.subscriptions().get(id)
    if (!row) throw new WebhookNotFoundError(id)
    return row
  }
  return {
    async create({ url, eventTypes }) {
      const problem = eventTypesProblem(eventTypes)
      if (problem) throw new InvalidWebhookRequestError('event_types', problem)
      const checked = await checkWebhookUrl(url, c.own, c.resolve)
      const secret = newWebhookSecret()
      const row = c.subscriptions().create({
        id: `wh_${randomBytes(8).toString('hex')}`,
        url: checked.href,
        eventTypes: [...new Set(eventTypes)],
        secret,
        cursor: c.events().latestId()
      })
      changed()
      return { secret, view: webhookView(row) }
    },
    list() {
      return c.subscriptions().list().map(webhookView)
    },
    pause(id) {
      existing(id)
      c.subscriptions().pause(id)
      changed()
      return webhookView(existing(id))
    },
    resume(id) {
      existing(id)
      c.subscriptions().resume(id)
      changed()
      return webhookView(existing(id))
    },
    delete(id) {
      const row = existing(id)
      c.subscriptions().delete(id)
      changed()
      return webhookView(row)
    }
  }
}
