import type { SignedReceipt } from '../core/receipt.ts'
import {
  type DeliverShareComponents,
  deliverShare,
  expiryMessage,
  isExpired,
  RecipientPauses,
  retryPlan
} from '../core/deliver-share.ts'
import { systemClock } from '../core/share-ports.ts'
import type { Logger } from '../log/logger.ts'
import type { Db } from '../store/database.ts'
import type { RecordRepository } from '../store/records.ts'
import type { ShareRepository, ShareRow } from '../store/shares.ts'
import type { CertificateExchange } from './cert-exchange.ts'
import type { DmnLibp2p } from './libp2p-node.ts'
import { auditLedgerOf, envelopeSealerOf, shareStoreOf, verifiedPeersOf } from './share-adapters.ts'
import { shareTransportOf } from './share-protocol.ts'
import type { TrafficStats } from './stats.ts'

export { backoffMs } from '../core/deliver-share.ts'

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
 */

/** Called inside the sender's SQLite transaction that stores the receipt. */
export type ReceiptStoredHook = (db: Db, share: ShareRow, receipt: SignedReceipt) => void

/** Verifies a maximum-tier recipient (TPM attestation) before its envelope is sealed. */
export type AttestRecipient = (
  peerId: string,
  shareId: string,
  options: { signal: AbortSignal }
) => Promise<void>

export interface DeliveryWorkerInit {
  readonly libp2p: DmnLibp2p
  readonly db: Db
  readonly records: RecordRepository
  readonly shares: ShareRepository
  readonly certificates: CertificateExchange
  readonly signingPrivateKeyPem: string
  readonly signingKeyId: string
  readonly stats: TrafficStats
  readonly logger: Logger
  readonly timeoutMs: number
  readonly retryBaseMs: number
  readonly retryMaxMs: number
  readonly concurrency: number
  readonly attestRecipient?: AttestRecipient | undefined
  readonly onReceiptStored?: ReceiptStoredHook | undefined
  readonly onDelivered: (share: ShareRow, receipt: SignedReceipt) => void
  readonly onAttemptFailed: (share: ShareRow, err: unknown, final: boolean) => void
}

export class DeliveryWorker {
  readonly name = 'delivery-worker'
  readonly #init: DeliveryWorkerInit
  readonly #inFlight = new Map<string, Promise<void>>()
  /** Recipients that refused with RateLimitedError, and until when nothing is sealed for them. */
  readonly #pauses = new RecipientPauses(systemClock)
  readonly #core: DeliverShareComponents<ShareRow>
  #controller = new AbortController()
  #timer: NodeJS.Timeout | undefined
  #running = false

  constructor(init: DeliveryWorkerInit) {
    this.#init = init
    this.#core = {
      store: shareStoreOf(init.db, init.records, init.shares),
      ledger: auditLedgerOf(init.db, { onReceiptStored: init.onReceiptStored }),
      peers: verifiedPeersOf(init.certificates),
      envelopes: envelopeSealerOf(init),
      transport: shareTransportOf(init.libp2p, init.stats),
      attestation: init.attestRecipient && {
        verifyRecipient: init.attestRecipient
      }
    }
  }

  start(): void {
    this.#controller = new AbortController()
    this.#running = true
    const reset = this.#init.shares.resetInterrupted()
    if (reset > 0) this.#init.logger.info({ reset }, 'resuming interrupted deliveries')
    this.kick()
  }

  /** Stops claiming, aborts attempts in flight (they go back to the queue, due at once) and waits for them. */
  async stop(): Promise<void> {
    this.#running = false
    clearTimeout(this.#timer)
    this.#controller.abort()
    await Promise.allSettled([...this.#inFlight.values()])
  }

  /** Looks for due shares now (after a new share, or when a recipient connects). */
  kick(): void {
    if (!this.#running) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => this.#tick(), 0)
  }

  /**
   * Makes every queued share for `peerId` due now: the peer just came back. A peer that asked this
   * node to slow down stays paused until its backoff ends, reachable or not.
   */
  peerAvailable(peerId: string): void {
    const due = Math.max(Date.now(), this.#pausedFor(peerId) ?? 0)
    const changed = this.#init.shares.advanceRecipient(peerId, due)
    if (changed > 0) this.kick()
  }

  #pausedFor(peerId: string): number | undefined {
    return this.#pauses.pausedUntil(peerId)
  }

  #pause(peerId: string, untilMs: number): void {
    this.#pauses.pause(peerId, untilMs)
    this.#init.shares.postponeRecipient(peerId, untilMs)
  }

  /** When the recipient is paused, gives the claimed share back unsent and returns true. */
  #yieldToPause(share: ShareRow): boolean {
    const until = this.#pausedFor(share.recipient)
    if (until === undefined) return false
    this.#init.shares.unclaim(share.shareId, until)
    return true
  }

  #tick(): void {
    if (!this.#running) return
    const free = this.#init.concurrency - this.#inFlight.size
    if (free > 0) {
      for (const share of this.#init.shares.listDue(Date.now(), free)) {
        if (this.#inFlight.has(share.shareId) || !this.#init.shares.claim(share.shareId)) continue
        const attempt = this.#attempt(share).finally(() => {
          this.#inFlight.delete(share.shareId)
          this.kick()
        })
        this.#inFlight.set(share.shareId, attempt)
      }
    }
    this.#schedule()
  }

  #schedule(): void {
    if (!this.#running || this.#inFlight.size >= this.#init.concurrency) return
    const due = this.#init.shares.nextDueMs()
    if (due === undefined) return
    // Capped so a clock jump or a share queued by another process is noticed within a minute.
    const delay = Math.min(60_000, Math.max(0, due - Date.now()))
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => this.#tick(), delay)
  }

  async #attempt(share: ShareRow): Promise<void> {
    const { shares } = this.#init
    const signal = AbortSignal.any([this.#controller.signal, AbortSignal.timeout(this.#init.timeoutMs)])
    try {
      if (isExpired(share, Date.now())) {
        shares.markFailed(share.shareId, expiryMessage(share))
        this.#init.onAttemptFailed(share, new Error(share.lastError ?? 'expired'), true)
        return
      }
      if (this.#yieldToPause(share)) return
      const delivered = await deliverShare(this.#core, share, {
        signal,
        // Another attempt to this recipient may have been refused while this one looked up its keys.
        beforeSeal: () => !this.#yieldToPause(share)
      })
      if (delivered) this.#init.onDelivered(delivered.share, delivered.receipt)
    } catch (err) {
      const stopping = this.#controller.signal.aborted
      const plan = retryPlan(share, err, { nowMs: Date.now(), stopping }, this.#init)
      if (plan.pauseRecipient) this.#pause(share.recipient, plan.nextAttemptMs)
      if (plan.final) shares.markFailed(share.shareId, plan.lastError)
      else shares.markRetry(share.shareId, plan.nextAttemptMs, plan.lastError)
      if (!stopping) this.#init.onAttemptFailed(share, err, plan.final)
      this.#init.logger.debug(
        { shareId: share.shareId, err: plan.lastError, final: plan.final },
        'delivery attempt failed'
      )
    }
  }
}
