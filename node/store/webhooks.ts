import type { WebhookState, WebhookView } from '../core/webhooks.ts'
import type { Db } from './database.ts'

/**
 * Webhook subscriptions (table `webhook_subscriptions`): where each stands in the event log and in
 * its retries. The rules (when to retry, when to fail) are node/core/webhooks.ts's; this repository
 * only stores their outcome. Writes of the delivery service are conditional on the subscription
 * still being active, so a pause or delete from the API or the CLI wins over a delivery in flight.
 */

/** A subscription as the delivery service needs it, secret included. */
export interface WebhookRow {
  readonly id: string
  readonly url: string
  readonly eventTypes: readonly string[]
  readonly secret: string
  readonly state: WebhookState
  readonly cursor: number
  readonly failingEventId: number | null
  /** Unix ms. */
  readonly failingSince: number | null
  readonly attempts: number
  /** Unix ms. */
  readonly nextAttemptAt: number | null
  readonly lastError: string | null
  readonly lastDeliveredAt: number | null
  readonly createdAt: string
  readonly updatedAt: string
}

interface Raw {
  id: string
  url: string
  event_types: string
  secret: string
  state: WebhookState
  cursor: number
  failing_event_id: number | null
  failing_since: number | null
  attempts: number
  next_attempt_at: number | null
  last_error: string | null
  last_delivered_at: number | null
  created_at: string
  updated_at: string
}

function toRow(r: Raw): WebhookRow {
  return {
    id: r.id,
    url: r.url,
    eventTypes: JSON.parse(r.event_types) as string[],
    secret: r.secret,
    state: r.state,
    cursor: r.cursor,
    failingEventId: r.failing_event_id,
    failingSince: r.failing_since,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    lastDeliveredAt: r.last_delivered_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** The operator's view of a row: no secret, times as ISO-8601. */
export function webhookView(r: WebhookRow): WebhookView {
  return {
    id: r.id,
    url: r.url,
    eventTypes: r.eventTypes,
    state: r.state,
    cursor: r.cursor,
    failingEventId: r.failingEventId,
    failingSince: iso(r.failingSince),
    attempts: r.attempts,
    nextAttemptAt: iso(r.nextAttemptAt),
    lastError: r.lastError,
    lastDeliveredAt: iso(r.lastDeliveredAt),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt
  }
}

export interface NewWebhook {
  readonly id: string
  readonly url: string
  readonly eventTypes: readonly string[]
  readonly secret: string
  readonly cursor: number
}

export class WebhookRepository {
  readonly #now: () => number
  readonly #insert
  readonly #byId
  readonly #all
  readonly #active
  readonly #delete
  readonly #pause
  readonly #resume
  readonly #delivered
  readonly #retry
  readonly #skip
  readonly #fail

  constructor(db: Db, init: { readonly now?: () => number } = {}) {
    this.#now = init.now ?? Date.now
    this.#insert = db.prepare(
      `INSERT INTO webhook_subscriptions (id, url, event_types, secret, state, cursor, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'active', ?, ?, ?)`
    )
    this.#byId = db.prepare<[string], Raw>('SELECT * FROM webhook_subscriptions WHERE id = ?')
    this.#all = db.prepare<[], Raw>('SELECT * FROM webhook_subscriptions ORDER BY created_at, id')
    this.#active = db.prepare<[], Raw>(
      "SELECT * FROM webhook_subscriptions WHERE state = 'active' ORDER BY created_at, id"
    )
    this.#delete = db.prepare('DELETE FROM webhook_subscriptions WHERE id = ?')
    this.#pause = db.prepare(
      "UPDATE webhook_subscriptions SET state = 'paused', next_attempt_at = NULL, updated_at = ? WHERE id = ?"
    )
    // A fresh retry window: the event it stopped at is tried at once.
    this.#resume = db.prepare(
      `UPDATE webhook_subscriptions SET state = 'active', attempts = 0, failing_since = NULL,
       next_attempt_at = NULL, updated_at = ? WHERE id = ?`
    )
    this.#delivered = db.prepare(
      `UPDATE webhook_subscriptions SET cursor = ?, failing_event_id = NULL, failing_since = NULL, attempts = 0,
       next_attempt_at = NULL, last_error = NULL, last_delivered_at = ?, updated_at = ?
       WHERE id = ? AND cursor < ?`
    )
    this.#skip = db.prepare('UPDATE webhook_subscriptions SET cursor = ? WHERE id = ? AND cursor < ?')
    this.#retry = db.prepare(
      `UPDATE webhook_subscriptions SET failing_event_id = ?, failing_since = ?, attempts = ?, next_attempt_at = ?,
       last_error = ?, updated_at = ? WHERE id = ? AND state = 'active'`
    )
    this.#fail = db.prepare(
      `UPDATE webhook_subscriptions SET state = 'failed', failing_event_id = ?, failing_since = ?, attempts = ?,
       next_attempt_at = NULL, last_error = ?, updated_at = ? WHERE id = ? AND state = 'active'`
    )
  }

  create(input: NewWebhook): WebhookRow {
    const at = new Date(this.#now()).toISOString()
    this.#insert.run(
      input.id,
      input.url,
      JSON.stringify(input.eventTypes),
      input.secret,
      input.cursor,
      at,
      at
    )
    return this.get(input.id) as WebhookRow
  }

  get(id: string): WebhookRow | undefined {
    const raw = this.#byId.get(id)
    return raw ? toRow(raw) : undefined
  }

  list(): WebhookRow[] {
    return this.#all.all().map(toRow)
  }

  active(): WebhookRow[] {
    return this.#active.all().map(toRow)
  }

  /** True when a row was deleted. */
  delete(id: string): boolean {
    return this.#delete.run(id).changes > 0
  }

  pause(id: string): boolean {
    return this.#pause.run(this.#stamp(), id).changes > 0
  }

  resume(id: string): boolean {
    return this.#resume.run(this.#stamp(), id).changes > 0
  }

  /**
   * The receiver took event `eventId`: the cursor moves there and the retries are forgotten. Applies
   * whatever the state (a pause during the attempt does not undo a 2xx); never moves the cursor back.
   */
  delivered(id: string, eventId: number): boolean {
    const now = this.#now()
    return this.#delivered.run(eventId, now, new Date(now).toISOString(), id, eventId).changes > 0
  }

  /** No event up to `eventId` matches the subscription's filter: the cursor moves past them. */
  skipTo(id: string, eventId: number): boolean {
    return this.#skip.run(eventId, id, eventId).changes > 0
  }

  /** Event `eventId` failed again and is retried at `nextAttemptAt`; only while active. */
  retryLater(
    id: string,
    failure: {
      readonly eventId: number
      readonly failingSince: number
      readonly attempts: number
      readonly nextAttemptAt: number
      readonly error: string
    }
  ): boolean {
    const { eventId, failingSince, attempts, nextAttemptAt, error } = failure
    return (
      this.#retry.run(eventId, failingSince, attempts, nextAttemptAt, error, this.#stamp(), id).changes > 0
    )
  }

  /** The retry window of event `eventId` has passed: the subscription is failed; only while active. */
  fail(
    id: string,
    failure: {
      readonly eventId: number
      readonly failingSince: number
      readonly attempts: number
      readonly error: string
    }
  ): boolean {
    const { eventId, failingSince, attempts, error } = failure
    return this.#fail.run(eventId, failingSince, attempts, error, this.#stamp(), id).changes > 0
  }

  #stamp(): string {
    return new Date(this.#now()).toISOString()
  }
}
