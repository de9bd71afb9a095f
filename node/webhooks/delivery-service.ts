import { EventEmitter } from 'node:events'
import type { Startable } from '../core/lifecycle.ts'
import type { EventSignal } from '../core/ports.ts'
import { afterFailure, type RetryPolicy, type WebhookEvent } from '../core/webhooks.ts'
import type { Logger } from '../log/logger.ts'
import type { WebhookRepository, WebhookRow } from '../store/webhooks.ts'
import { type SendFailure, sendWebhook, type WebhookSender } from './send.ts'
import type { OwnApis, Resolver } from './url-guard.ts'

/**
 * Delivers the event log to webhook subscriptions. Per subscription strictly in order, one event in
 * flight at a time; across subscriptions at most `concurrency` attempts at once, each bounded by
 * `timeoutMs`. Everything it knows is in the database (cursor, retries), so a restart picks up where
 * the last 2xx left off: at least once, the same `webhook-id` for every attempt of an event.
 *
 * It only reads the event log, off the share path: a receiver that hangs or fails holds at most one
 * slot for at most `timeoutMs` and delays nothing but its own subscription.
 */

/** What the delivery needs of the event log. */
export interface WebhookEventSource {
  /** Events with id > afterId, ascending, at most `limit`, whose type starts with one of `types` (all when absent). */
  after(afterId: number, limit: number, types?: readonly string[]): readonly WebhookEvent[]
  latestId(): number
  /** The oldest event still retained; undefined when none is. */
  oldestId?(): number | undefined
}

export interface WebhookDeliveryComponents {
  /** Opened once the store has started. */
  readonly subscriptions: () => Pick<
    WebhookRepository,
    'get' | 'active' | 'delivered' | 'skipTo' | 'retryLater' | 'fail'
  >
  readonly events: () => WebhookEventSource
  /** Wake-up: something was appended to the event log. */
  readonly bus?: EventSignal
  readonly own: OwnApis
  readonly logger: Logger
  readonly send?: WebhookSender
  readonly resolve?: Resolver
  readonly now?: () => number
  readonly random?: () => number
}

export interface WebhookDeliveryInit {
  /** Attempts in flight at once, across subscriptions. */
  readonly concurrency: number
  /** Bound of one attempt, ms. */
  readonly timeoutMs: number
  readonly retry: RetryPolicy
  /** How often subscriptions are re-read (changes made by `dmn webhooks` while the node runs), ms. */
  readonly pollIntervalMs: number
}

/**
 * Unmatched events after which an idle subscription's cursor moves past them: a bounded search per
 * wake-up, for one small write per this many events (not one per event, on the shares' database).
 */
const SKIP_UNMATCHED = 1_000

/** What the deliveries tell their observers (the metrics). */
export type WebhookDeliveryEvents = {
  /** A 2xx for `eventId`; `lagSeconds` from the event's time to that answer. */
  delivered: [{ webhook: string; eventId: number; lagSeconds: number }]
  /** An attempt failed; `final` when the subscription failed with it (retry window passed). */
  'attempt-failed': [{ webhook: string; eventId: number; reason: SendFailure; final: boolean }]
}

interface Worker {
  running: boolean
  again: boolean
  timer: NodeJS.Timeout | undefined
}

export class WebhookDeliveryService extends EventEmitter<WebhookDeliveryEvents> implements Startable {
  readonly name = 'webhooks'
  readonly #c: WebhookDeliveryComponents
  readonly #init: WebhookDeliveryInit
  readonly #workers = new Map<string, Worker>()
  /** Subscriptions already warned that retention pruned events they had not been sent. */
  readonly #warnedPruned = new Set<string>()
  readonly #inFlight = new Set<Promise<void>>()
  readonly #waiting: (() => void)[] = []
  #slots = 0
  #abort = new AbortController()
  #stopped = true
  #poll: NodeJS.Timeout | undefined
  #unsubscribe: (() => void) | undefined
  #wakeQueued = false

  constructor(components: WebhookDeliveryComponents, init: WebhookDeliveryInit) {
    super()
    this.#c = components
    this.#init = init
  }

  start(): void {
    this.#stopped = false
    this.#abort = new AbortController()
    this.#unsubscribe = this.#c.bus?.subscribe(() => this.#queueWake())
    this.#poll = setInterval(() => this.refresh(), this.#init.pollIntervalMs)
    this.#poll.unref()
    this.refresh()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#unsubscribe?.()
    clearInterval(this.#poll)
    for (const w of this.#workers.values()) clearTimeout(w.timer)
    // Attempts in flight are abandoned, not recorded: their events are sent again after the restart.
    this.#abort.abort()
    for (const wake of this.#waiting.splice(0)) wake()
    await Promise.allSettled([...this.#inFlight])
    this.#workers.clear()
  }

  /** Re-reads the active subscriptions and wakes each (after a change through the API or the CLI). */
  refresh(): void {
    if (this.#stopped) return
    let active: WebhookRow[]
    try {
      active = this.#c.subscriptions().active()
    } catch (err) {
      this.#c.logger.error({ err }, 'cannot read webhook subscriptions')
      return
    }
    for (const row of active) this.#kick(row.id)
  }

  #queueWake(): void {
    if (this.#wakeQueued || this.#stopped) return
    this.#wakeQueued = true
    // Many events at once make one wake-up.
    setImmediate(() => {
      this.#wakeQueued = false
      for (const id of this.#workers.keys()) this.#kick(id)
    })
  }

  #kick(id: string): void {
    if (this.#stopped) return
    let w = this.#workers.get(id)
    if (!w) {
      w = { running: false, again: false, timer: undefined }
      this.#workers.set(id, w)
    }
    if (w.running) {
      w.again = true
      return
    }
    w.running = true
    const run = this.#run(id, w)
      .catch((err: unknown) =>
        this.#c.logger.error({ err, webhook: id }, 'webhook delivery failed unexpectedly')
      )
      .finally(() => {
        this.#inFlight.delete(run)
        w.running = false
        if (w.again && !this.#stopped) {
          w.again = false
          this.#kick(id)
        }
      })
    this.#inFlight.add(run)
  }

  /** Delivers the subscription's events until it is idle, waiting, or no longer active. */
  async #run(id: string, w: Worker): Promise<void> {
    const now = this.#c.now ?? Date.now
    for (;;) {
      if (this.#stopped) return
      w.again = false
      const sub = this.#c.subscriptions().get(id)
      if (sub?.state !== 'active') {
        clearTimeout(w.timer)
        this.#workers.delete(id)
        return
      }
      const waitMs = sub.nextAttemptAt === null ? 0 : sub.nextAttemptAt - now()
      if (waitMs > 0) {
        clearTimeout(w.timer)
        w.timer = setTimeout(() => this.#kick(id), waitMs)
        return
      }
      const events = this.#c.events()
      this.#warnIfPruned(sub, events.oldestId?.())
      // Read before the search: every event up to it that matches is visible to the search.
      const latest = events.latestId()
      const [event] = events.after(sub.cursor, 1, sub.eventTypes.length > 0 ? sub.eventTypes : undefined)
      if (!event) {
        // A narrow filter would otherwise search the same unmatched events at every wake-up.
        if (latest - sub.cursor >= SKIP_UNMATCHED) this.#c.subscriptions().skipTo(id, latest)
        return
      }
      if (!(await this.#acquire())) return
      let result: Awaited<ReturnType<WebhookSender>>
      try {
        result = await (this.#c.send ?? sendWebhook)({
          url: sub.url,
          secret: sub.secret,
          event,
          timeoutMs: this.#init.timeoutMs,
          own: this.#c.own,
          signal: this.#abort.signal,
          ...(this.#c.resolve ? { resolve: this.#c.resolve } : {})
        })
      } finally {
        this.#release()
      }
      if (this.#stopped) return
      if (result.ok) {
        this.#c.subscriptions().delivered(id, event.id)
        this.emit('delivered', {
          webhook: id,
          eventId: event.id,
          lagSeconds: Math.max(0, (now() - event.at) / 1000)
        })
        continue
      }
      this.#failed(sub, event.id, result, now())
    }
  }

  /** Retention (events.retentionHours) deleted events after the cursor: they cannot be sent any more. */
  #warnIfPruned(sub: WebhookRow, oldestId: number | undefined): void {
    if (oldestId === undefined || sub.cursor >= oldestId - 1 || this.#warnedPruned.has(sub.id)) return
    this.#warnedPruned.add(sub.id)
    this.#c.logger.warn(
      { webhook: sub.id, cursor: sub.cursor, oldestId },
      'webhook subscription is behind the event log retention: pruned events are not delivered'
    )
  }

  #failed(
    sub: WebhookRow,
    eventId: number,
    result: { error: string; reason: SendFailure },
    at: number
  ): void {
    const { error, reason } = result
    const same = sub.failingEventId === eventId
    const outcome = afterFailure(
      { attempts: same ? sub.attempts : 0, failingSince: same ? sub.failingSince : null },
      at,
      this.#init.retry,
      this.#c.random ?? Math.random
    )
    const repo = this.#c.subscriptions()
    if (outcome.kind === 'retry') {
      repo.retryLater(sub.id, { eventId, error, ...outcome })
      this.emit('attempt-failed', { webhook: sub.id, eventId, reason, final: false })
      this.#c.logger.debug(
        {
          webhook: sub.id,
          eventId,
          attempts: outcome.attempts,
          error,
          retryAt: new Date(outcome.nextAttemptAt).toISOString()
        },
        'webhook attempt failed'
      )
      return
    }
    repo.fail(sub.id, { eventId, error, failingSince: outcome.failingSince, attempts: outcome.attempts })
    this.emit('attempt-failed', { webhook: sub.id, eventId, reason, final: true })
    this.#c.logger.warn(
      { webhook: sub.id, eventId, attempts: outcome.attempts, error },
      'webhook subscription failed: retry window passed'
    )
  }

  /** A slot for one attempt; false when the service stopped while waiting. */
  async #acquire(): Promise<boolean> {
    while (this.#slots >= this.#init.concurrency && !this.#stopped) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve))
    }
    if (this.#stopped) return false
    this.#slots++
    return true
  }

  #release(): void {
    this.#slots--
    this.#waiting.shift()?.()
  }
}
