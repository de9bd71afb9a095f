/**
 * Webhook subscriptions: what a subscription is, the port the APIs drive, and the pure rules of
 * delivery (the payload, the message id, backoff with full jitter, when retrying stops, which
 * addresses are the node's own). No I/O here: the delivery service (node/webhooks) applies them.
 */

import { DmnError } from './errors.ts'
import { type CallOptions, ResourceNotFoundError } from './ports.ts'

export const WEBHOOK_STATES = ['active', 'paused', 'failed'] as const
export type WebhookState = (typeof WEBHOOK_STATES)[number]

/** Longest URL a subscription may have, in characters. */
export const MAX_WEBHOOK_URL_LENGTH = 2_048
/** Most type prefixes in one filter, and the longest prefix. */
export const MAX_WEBHOOK_EVENT_TYPES = 32
export const MAX_WEBHOOK_EVENT_TYPE_LENGTH = 100
/** Standard Webhooks: a secret of 24 to 64 random bytes; 32 is what this node makes. */
export const WEBHOOK_SECRET_BYTES = 32
export const WEBHOOK_SECRET_PREFIX = 'whsec_'
/** Event type prefixes: dotted lower-case names, as the event log writes them. */
export const WEBHOOK_EVENT_TYPE_PATTERN = /^[a-z0-9_.]+$/

/** A subscription as operators see it (never with its secret). */
export interface WebhookView {
  readonly id: string
  readonly url: string
  /** Type prefixes an event must start with; every event when empty. */
  readonly eventTypes: readonly string[]
  readonly state: WebhookState
  /**
   * Events up to this id are done: delivered, not matching the filter, or (for a new subscription)
   * before its creation. It moves only after a 2xx for an event that matches.
   */
  readonly cursor: number
  /** The event being retried (or, when failed, the one delivery stopped at); null when none fails. */
  readonly failingEventId: number | null
  /** ISO-8601 UTC of the first failed attempt of that event. */
  readonly failingSince: string | null
  readonly attempts: number
  readonly nextAttemptAt: string | null
  readonly lastError: string | null
  readonly lastDeliveredAt: string | null
  readonly createdAt: string
  readonly updatedAt: string
}

/** A view as the API and `dmn webhooks list --json` show it: snake_case fields. */
export function webhookFields(v: WebhookView) {
  return {
    id: v.id,
    url: v.url,
    event_types: [...v.eventTypes],
    state: v.state,
    cursor: v.cursor,
    failing_event_id: v.failingEventId,
    failing_since: v.failingSince,
    attempts: v.attempts,
    next_attempt_at: v.nextAttemptAt,
    last_error: v.lastError,
    last_delivered_at: v.lastDeliveredAt,
    created_at: v.createdAt,
    updated_at: v.updatedAt
  }
}

/** Webhook subscriptions, for operators (internal API and `dmn webhooks`). */
export interface WebhookAdmin {
  /** Creates an active subscription starting at the log's latest event; the secret is in this answer only. */
  create(
    input: { readonly url: string; readonly eventTypes: readonly string[] },
    options?: CallOptions
  ): Promise<{ readonly secret: string; readonly view: WebhookView }>
  list(): readonly WebhookView[]
  /** Each throws WebhookNotFoundError for an unknown id. */
  pause(id: string): WebhookView
  /** Active again; a failed subscription retries the event it stopped at, with a fresh retry window. */
  resume(id: string): WebhookView
  delete(id: string): WebhookView
}

/** An id the subscriptions do not hold. */
export class WebhookNotFoundError extends ResourceNotFoundError {
  override name = 'WebhookNotFoundError'

  constructor(id: string) {
    super('webhook', `no webhook subscription with id ${id}`)
  }
}

/** A URL the node will not deliver to (not http(s), unresolvable, or one of the node's own APIs). */
export class WebhookUrlRefusedError extends DmnError {
  override name = 'WebhookUrlRefusedError'
}

/** A subscription request that cannot be honoured (an event type that is not a type prefix, ...). */
export class InvalidWebhookRequestError extends DmnError {
  override name = 'InvalidWebhookRequestError'
  readonly field: string

  constructor(field: string, message: string) {
    super(message)
    this.field = field
  }
}

/** The first problem of a subscription's event filter, or undefined. */
export function eventTypesProblem(types: readonly string[]): string | undefined {
  if (types.length > MAX_WEBHOOK_EVENT_TYPES) return `at most ${MAX_WEBHOOK_EVENT_TYPES} event types`
  for (const t of types) {
    if (t.length === 0 || t.length > MAX_WEBHOOK_EVENT_TYPE_LENGTH || !WEBHOOK_EVENT_TYPE_PATTERN.test(t)) {
      return `event type ${JSON.stringify(t)} must be 1 to ${MAX_WEBHOOK_EVENT_TYPE_LENGTH} characters of a-z, 0-9, _ and .`
    }
  }
  return undefined
}

/** An event as the webhook sends it. */
export interface WebhookEvent {
  readonly id: number
  readonly type: string
  /** Unix milliseconds. */
  readonly at: number
  readonly data: Readonly<Record<string, unknown>>
}

/**
 * The `webhook-id` of an event: the same for every attempt, so a receiver can drop duplicates.
 * Event ids are unique on this node, so one id names one event whichever subscription sends it.
 */
export function webhookMessageId(eventId: number): string {
  return `evt_${eventId}`
}

/**
 * The body (Standard Webhooks: `type`, `timestamp`, `data`), built from the stored event only, so
 * every attempt of an event sends the same bytes.
 */
export function webhookBody(event: WebhookEvent): string {
  return JSON.stringify({ type: event.type, timestamp: new Date(event.at).toISOString(), data: event.data })
}

export interface RetryPolicy {
  /** First backoff ceiling, ms. */
  readonly baseMs: number
  /** Largest backoff ceiling, ms. */
  readonly capMs: number
  /** How long an event is retried from its first failure before the subscription is failed, ms. */
  readonly windowMs: number
}

/**
 * Exponential backoff with full jitter: uniformly in [0, min(cap, base * 2^(attempt-1))), so
 * subscriptions that failed together do not retry together. `attempt` counts failures, from 1.
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 52))
  return Math.floor(random() * ceiling)
}

/** Where a subscription's retries stand before a failed attempt. */
export interface FailureState {
  /** Failures of the current event before this one. */
  readonly attempts: number
  /** Unix ms of its first failure; null when this is the first. */
  readonly failingSince: number | null
}

export type FailureOutcome =
  | {
      readonly kind: 'retry'
      readonly attempts: number
      readonly failingSince: number
      readonly nextAttemptAt: number
    }
  | { readonly kind: 'failed'; readonly attempts: number; readonly failingSince: number }

/**
 * What a failed attempt at `now` leads to: another attempt after the backoff, or, once the retry
 * window from the first failure has passed, the failed state. The last retry is held to the end of
 * the window, so an event is tried at the window's edge before the subscription fails.
 */
export function afterFailure(
  state: FailureState,
  now: number,
  policy: RetryPolicy,
  random: () => number
): FailureOutcome {
  const attempts = state.attempts + 1
  const failingSince = state.failingSince ?? now
  const deadline = failingSince + policy.windowMs
  if (now >= deadline) return { kind: 'failed', attempts, failingSince }
  const nextAttemptAt = Math.min(now + backoffDelayMs(attempts, policy, random), deadline)
  return { kind: 'retry', attempts, failingSince, nextAttemptAt }
}

/** True when `address` (IPv4 or IPv6 text) is loopback or unspecified. */
export function isLoopbackOrUnspecified(address: string): boolean {
  const v4 = unmapIpv4(address)
  if (IPV4.test(v4)) return v4.startsWith('127.') || v4 === '0.0.0.0'
  const groups = ipv6Groups(address)
  if (!groups) return false
  const head = groups.slice(0, 7).every((g) => g === 0)
  return head && (groups[7] === 0 || groups[7] === 1)
}

const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, in any spelling) as its IPv4 address; others unchanged, lower case. */
export function unmapIpv4(address: string): string {
  const lower = address.toLowerCase()
  if (IPV4.test(lower)) return lower
  const groups = ipv6Groups(lower)
  if (!groups?.slice(0, 5).every((g) => g === 0) || groups[5] !== 0xffff) return lower
  const [hi = 0, lo = 0] = groups.slice(6)
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.')
}

/** One spelling per address: IPv4 dotted (mapped IPv6 unmapped), IPv6 as eight hex groups. */
export function canonicalIp(address: string): string {
  const v4 = unmapIpv4(address)
  if (IPV4.test(v4)) return v4
  return (
    ipv6Groups(v4)
      ?.map((g) => g.toString(16))
      .join(':') ?? v4
  )
}

/** The eight 16-bit groups of an IPv6 address (zone dropped, an IPv4 tail folded in); undefined when not one. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.toLowerCase().replace(/%.*$/, '')
  const tail = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const parse = (part: string | undefined) => (part ? part.split(':') : [])
  const left = parse(halves[0])
  const right = parse(halves[1])
  const missing = 8 - left.length - right.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const all = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right]
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined
  return all.map((g) => Number.parseInt(g, 16))
}

/**
 * True when a connection to `addresses` at `port` would reach one of the node's own APIs: an
 * address that is loopback, unspecified or one of this machine's (`localAddresses`) together with
 * an API port. Other ports on those addresses are another program's and allowed.
 */
export function reachesOwnApi(
  addresses: readonly string[],
  port: number,
  own: { readonly ports: readonly number[]; readonly localAddresses: readonly string[] }
): boolean {
  if (!own.ports.includes(port)) return false
  const local = new Set(own.localAddresses.map(canonicalIp))
  return addresses.some((a) => isLoopbackOrUnspecified(a) || local.has(canonicalIp(a)))
}
