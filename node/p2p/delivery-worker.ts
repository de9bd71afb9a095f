import { planBatches } from '../core/batch.ts'
import type { SignedReceipt } from '../core/receipt.ts'
import {
  type DeliverShareComponents,
  deliverShare,
  expiryMessage,
  isExpired,
  RecipientPauses,
  retryPlan
} from '../core/deliver-share.ts'
import { systemClock, type StoredShare } from '../core/share-ports.ts'
import type { Logger } from '../log/logger.ts'
import type { ShareRepository } from '../store/shares.ts'
import { ENVELOPE_OVERHEAD_BYTES, PACING_LOOKAHEAD } from './constants.ts'
import { type BatchDeliveryComponents, runBatchAttempt } from './batch-delivery.ts'
import { P2P_DEFAULTS } from './defaults.ts'
import { DueWindow } from './due-window.ts'
import type { PeerPacing } from './peer-pacing.ts'

/**
 * The durable delivery loop. Shares are committed as `queued` before any network I/O; this worker
 * claims due ones, seals a fresh envelope per attempt (a new nonce and timestamp, so a retry hours
 * later is not refused as stale; the share id stays, so the receiver stores it once), sends it, and
 * verifies and stores the receipt. Failures are retried with exponential backoff and jitter until the
 * share's expiry, then marked failed with the last error. A restart resumes where it stopped.
 *
 * A recipient that refuses with RateLimitedError is paused: the refused share waits for the backoff
 * or the recipient's retry-after hint, whichever is longer, and no other share to that recipient is
 * sealed before then (queued ones are moved to the same time; ones already claimed go back unsent).
 * With `pacing`, each recipient that announced its limits is sent no more than they admit
 * (peer-pacing.ts): a share that would exceed them stays queued, unsealed, until it fits.
 */

/** The outgoing shares as a queue: what the worker claims, schedules and settles. */
export type DeliveryQueue = Pick<
  ShareRepository,
  | 'resetInterrupted'
  | 'listDue'
  | 'nextDueMs'
  | 'claim'
  | 'unclaim'
  | 'postponeRecipient'
  | 'advanceRecipient'
  | 'markRetry'
  | 'markFailed'
>

/**
 * What the worker needs: the core's delivery use case's ports (node/core/deliver-share.ts), the
 * queue, and where it reports.
 */
export interface DeliveryWorkerComponents extends DeliverShareComponents<StoredShare> {
  readonly queue: DeliveryQueue
  readonly logger: Logger
  readonly onDelivered: (share: StoredShare, receipt: SignedReceipt) => void
  readonly onAttemptFailed: (share: StoredShare, err: unknown, final: boolean) => void
  /** A batch attempt ended with `delivered` of its shares delivered (the others failed or wait). */
  readonly onBatchDelivered?: ((recipient: string, delivered: number) => void) | undefined
  /** Recipients' announced limits, learned from their answers; without it nothing is paced. */
  readonly pacing?: PeerPacing | undefined
  /** Batched delivery (`/dmn/share-batch/1.0.0`); without it every share goes per-share. */
  readonly batches?: BatchDeliveryComponents | undefined
}

/** Settings of the worker; each defaults to the configuration's default of `p2p`. */
export interface DeliveryWorkerInit {
  /** The deadline of one attempt (`p2p.streamTimeoutMs`). */
  readonly timeoutMs?: number
  readonly retryBaseMs?: number
  readonly retryMaxMs?: number
  /** Attempts in flight at once (`p2p.deliveryConcurrency`). */
  readonly concurrency?: number
  /** Most shares in one batch, 1 for none (`p2p.batchMax`). */
  readonly batchMax?: number
  /** How long a due share waits for others to the same peer (`p2p.batchWindowMs`). */
  readonly batchWindowMs?: number
}

export type { DeliveryWorker }

class DeliveryWorker {
  readonly name = 'delivery-worker'
  readonly #components: DeliveryWorkerComponents
  readonly #settings: Required<DeliveryWorkerInit>
  /** Attempts in flight (a batch is one), by their first share's id. */
  readonly #inFlight = new Map<string, Promise<void>>()
  /** Every share of the attempts in flight. */
  readonly #busy = new Set<string>()
  /** Attempts in flight by recipient: a smaller batch waits for the one in flight to its recipient. */
  readonly #inFlightTo = new Map<string, number>()
  /** Peers that do not speak the batch protocol, and until when they get per-share delivery. */
  readonly #perShare = new Map<string, number>()
  /** Recipients that refused with RateLimitedError, and until when nothing is sealed for them. */
  readonly #pauses = new RecipientPauses(systemClock)
  /** The due shares last read, served from while nothing but an attempt's end asks for more. */
  readonly #window: DueWindow
  #controller = new AbortController()
  #timer: NodeJS.Timeout | undefined
  /** A round asked for now (after this turn's I/O), at most one at a time. */
  #soon: NodeJS.Immediate | undefined
  #running = false

  constructor(components: DeliveryWorkerComponents, init: DeliveryWorkerInit) {
    this.#components = components
    this.#window = new DueWindow(components.queue)
    this.#settings = {
      timeoutMs: init.timeoutMs ?? P2P_DEFAULTS.streamTimeoutMs,
      retryBaseMs: init.retryBaseMs ?? P2P_DEFAULTS.retryBaseMs,
      retryMaxMs: init.retryMaxMs ?? P2P_DEFAULTS.retryMaxMs,
      concurrency: init.concurrency ?? P2P_DEFAULTS.deliveryConcurrency,
      batchMax: components.batches ? (init.batchMax ?? P2P_DEFAULTS.batchMax) : 1,
      batchWindowMs: init.batchWindowMs ?? P2P_DEFAULTS.batchWindowMs
    }
  }

  start(): void {
    this.#controller = new AbortController()
    this.#running = true
    const reset = this.#components.queue.resetInterrupted()
    if (reset > 0) this.#components.logger.info({ reset }, 'resuming interrupted deliveries')
    this.kick()
  }

  /** Stops claiming, aborts attempts in flight (they go back to the queue, due at once) and waits for them. */
  async stop(): Promise<void> {
    this.#running = false
    clearTimeout(this.#timer)
    clearImmediate(this.#soon)
    this.#soon = undefined
    this.#controller.abort()
    await Promise.allSettled([...this.#inFlight.values()])
  }

  /** Looks for due shares now (after a new share, or when a recipient connects). */
  kick(): void {
    this.#window.invalidate()
    this.#next()
  }

  /** A round now, from the due shares read before unless invalidated: a slot is free. */
  #next(): void {
    if (!this.#running || this.#soon) return
    // setImmediate, not setTimeout(0): a timer waits at least a millisecond, each delivered share.
    this.#soon = setImmediate(() => {
      this.#soon = undefined
      this.#tick()
    })
  }

  /**
   * Makes every queued share for `peerId` due now: the peer just came back. A peer that asked this
   * node to slow down stays paused until its backoff ends, reachable or not.
   */
  peerAvailable(peerId: string): void {
    const due = Math.max(Date.now(), this.#pausedFor(peerId) ?? 0)
    const changed = this.#components.queue.advanceRecipient(peerId, due)
    if (changed > 0) this.kick()
  }

  #pausedFor(peerId: string): number | undefined {
    return this.#pauses.pausedUntil(peerId)
  }

  #pause(peerId: string, untilMs: number): void {
    this.#pauses.pause(peerId, untilMs)
    this.#components.queue.postponeRecipient(peerId, untilMs)
    this.#window.dropRecipient(peerId)
  }

  /**
   * When the envelope would exceed the bytes per second the recipient announced, gives the claimed
   * share back unsent, due when it fits, and returns true.
   */
  #yieldToBytes(share: StoredShare, plaintextBytes: number): boolean {
    const waitMs =
      this.#components.pacing?.chargeBytes(share.recipient, plaintextBytes + ENVELOPE_OVERHEAD_BYTES) ?? 0
    if (waitMs === 0) return false
    this.#components.queue.unclaim(share.shareId, Date.now() + waitMs)
    return true
  }

  /** When the recipient is paused, gives the claimed share back unsent and returns true. */
  #yieldToPause(share: StoredShare): boolean {
    const until = this.#pausedFor(share.recipient)
    if (until === undefined) return false
    this.#components.queue.unclaim(share.shareId, until)
    return true
  }

  #tick(): void {
    if (!this.#running) return
    let free = this.#settings.concurrency - this.#inFlight.size
    let holdUntilMs: number | undefined
    // Until when a due share was held back for its recipient's pace (Infinity: until a stream frees).
    let heldBackMs: number | undefined
    if (free > 0) {
      const now = Date.now()
      const { batchMax, batchWindowMs } = this.#settings
      const pacing = this.#components.pacing
      // Looks past shares held back for one recipient, so others' due shares still go.
      const due = this.#window.due(now, free * batchMax + (pacing ? PACING_LOOKAHEAD : 0), (share) =>
        this.#busy.has(share.shareId)
      )
      const plan = planBatches(
        due,
        { max: batchMax, windowMs: batchWindowMs },
        now,
        (peer) => this.#sendsPerShare(peer, now),
        (peer) => this.#inFlightTo.has(peer)
      )
      holdUntilMs = plan.holdUntilMs
      // Shares waiting for an answer are due already: the attempt's end is their next look.
      if (plan.waitsForAnswer) heldBackMs = Number.POSITIVE_INFINITY
      for (const group of plan.groups) {
        if (free === 0) break
        const recipient = group[0]?.recipient
        if (recipient === undefined) continue
        // A batch is one exchange, one message against the recipient's announced limits.
        const paced = pacing?.limitsOf(recipient) !== undefined
        const waitMs = pacing?.acquire(recipient) ?? 0
        if (waitMs > 0) {
          heldBackMs = Math.min(heldBackMs ?? Number.POSITIVE_INFINITY, waitMs)
          continue
        }
        for (const share of group) this.#window.take(share.shareId)
        // A batch's claims commit together: one write, not one per share. Not durable (as each claim
        // on its own): a claim lost to a power cut leaves the share queued, sent again, received once.
        const claimed = this.#components.store.transaction(
          () => group.filter((share) => this.#components.queue.claim(share.shareId)),
          { durable: false }
        )
        const first = claimed[0]
        if (!first) {
          if (paced) pacing?.release(recipient)
          continue
        }
        free -= 1
        for (const share of claimed) this.#busy.add(share.shareId)
        this.#inFlightTo.set(recipient, (this.#inFlightTo.get(recipient) ?? 0) + 1)
        const attempt = (claimed.length === 1 ? this.#attempt(first) : this.#attemptBatch(claimed)).finally(
          () => {
            if (paced) pacing?.release(recipient)
            this.#inFlight.delete(first.shareId)
            for (const share of claimed) this.#busy.delete(share.shareId)
            const left = (this.#inFlightTo.get(recipient) ?? 1) - 1
            if (left > 0) this.#inFlightTo.set(recipient, left)
            else this.#inFlightTo.delete(recipient)
            this.#next()
          }
        )
        this.#inFlight.set(first.shareId, attempt)
      }
    }
    this.#schedule(holdUntilMs, heldBackMs)
  }

  #sendsPerShare(peerId: string, now: number): boolean {
    const until = this.#perShare.get(peerId)
    if (until === undefined) return false
    if (until > now) return true
    this.#perShare.delete(peerId)
    return false
  }

  #attemptBatch(shares: readonly StoredShare[]): Promise<void> {
    const batches = this.#components.batches as BatchDeliveryComponents
    return runBatchAttempt(
      {
        ...this.#components,
        ...batches,
        signal: AbortSignal.any([this.#controller.signal, AbortSignal.timeout(this.#settings.timeoutMs)]),
        pausedFor: (peerId) => this.#pausedFor(peerId),
        perShareUntil: (peerId, untilMs) => this.#perShare.set(peerId, untilMs),
        failed: (share, err) => this.#failed(share, err)
      },
      shares
    )
  }

  /**
   * Arms the next tick. `holdUntilMs`: when the first batch window ends (those shares are due
   * already). `heldBackMs`: how long until a share held back for its recipient's pace fits
   * (Infinity: until an attempt in flight ends, whose completion kicks; so for a smaller batch that
   * waits for the answer to its recipient's attempt in flight). Held-back shares are due
   * already too, so the queue's next due time is not asked then: it would be now.
   */
  #schedule(holdUntilMs?: number, heldBackMs?: number): void {
    if (!this.#running || this.#inFlight.size >= this.#settings.concurrency) return
    let due: number | undefined
    if (heldBackMs !== undefined) {
      const paceAt = heldBackMs === Number.POSITIVE_INFINITY ? undefined : Date.now() + heldBackMs
      due = holdUntilMs === undefined ? paceAt : Math.min(holdUntilMs, paceAt ?? holdUntilMs)
    } else {
      due = holdUntilMs ?? this.#components.queue.nextDueMs()
    }
    if (due === undefined) return
    // Capped so a clock jump or a share queued by another process is noticed within a minute.
    const delay = Math.min(60_000, Math.max(0, due - Date.now()))
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      // Whatever came due meanwhile is not in the window.
      this.#window.invalidate()
      this.#tick()
    }, delay)
  }

  async #attempt(share: StoredShare): Promise<void> {
    const { queue } = this.#components
    const signal = AbortSignal.any([this.#controller.signal, AbortSignal.timeout(this.#settings.timeoutMs)])
    try {
      if (isExpired(share, Date.now())) {
        queue.markFailed(share.shareId, expiryMessage(share))
        this.#components.onAttemptFailed(share, new Error(share.lastError ?? 'expired'), true)
        return
      }
      if (this.#yieldToPause(share)) return
      const delivered = await deliverShare(this.#components, share, {
        signal,
        // Another attempt to this recipient may have been refused while this one looked up its keys.
        beforeSeal: (plaintext) =>
          !this.#yieldToPause(share) && !this.#yieldToBytes(share, plaintext.byteLength)
      })
      if (delivered) this.#components.onDelivered(delivered.share, delivered.receipt)
    } catch (err) {
      this.#failed(share, err)
    }
  }

  /** After a failed attempt: the retry plan, a pause of the recipient, the share's new state. */
  #failed(share: StoredShare, err: unknown): void {
    const { queue } = this.#components
    const stopping = this.#controller.signal.aborted
    const plan = retryPlan(share, err, { nowMs: Date.now(), stopping }, this.#settings)
    if (plan.pauseRecipient) this.#pause(share.recipient, plan.nextAttemptMs)
    if (plan.final) queue.markFailed(share.shareId, plan.lastError)
    else queue.markRetry(share.shareId, plan.nextAttemptMs, plan.lastError)
    if (!stopping) this.#components.onAttemptFailed(share, err, plan.final)
    this.#components.logger.debug(
      { shareId: share.shareId, err: plan.lastError, final: plan.final },
      'delivery attempt failed'
    )
  }
}

/** The delivery worker: claims and sends due shares from its start, drains its attempts at stop. */
export function createDeliveryWorker(
  components: DeliveryWorkerComponents,
  init: DeliveryWorkerInit = {}
): DeliveryWorker {
  return new DeliveryWorker(components, init)
}
