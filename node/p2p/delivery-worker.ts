import { peerIdFromString } from '@libp2p/peer-id'
import { AttestationNotConfiguredError } from '../core/errors.ts'
import type { SignedReceipt } from '../core/receipt.ts'
import { keyFingerprint, sealEnvelope } from '../crypto/index.ts'
import type { Logger } from '../log/logger.ts'
import type { Db } from '../store/database.ts'
import type { RecordRepository } from '../store/records.ts'
import type { ShareRepository, ShareRow } from '../store/shares.ts'
import { type CertificateExchange, isCertificateVerdict } from './cert-exchange.ts'
import { errorName, RecipientUnreachableError, RecordNotFoundError, RemoteRefusalError } from './errors.ts'
import type { DmnLibp2p } from './libp2p-node.ts'
import { sendEnvelope, verifyReceipt } from './share-protocol.ts'
import type { TrafficStats } from './stats.ts'
import { assertTrustFor } from './trust.ts'

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

/** Delay before attempt `attempts + 1`: exponential, capped, with equal jitter (never zero, never in step). */
export function backoffMs(
  attempts: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1))
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}

export class DeliveryWorker {
  readonly #init: DeliveryWorkerInit
  readonly #inFlight = new Map<string, Promise<void>>()
  /** Recipients that refused with RateLimitedError, and until when nothing is sealed for them. */
  readonly #pausedUntil = new Map<string, number>()
  #controller = new AbortController()
  #timer: NodeJS.Timeout | undefined
  #running = false

  constructor(init: DeliveryWorkerInit) {
    this.#init = init
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

  /** Until when `peerId` is paused after a RateLimitedError, or undefined when it is not. */
  #pausedFor(peerId: string): number | undefined {
    const until = this.#pausedUntil.get(peerId)
    if (until === undefined) return undefined
    if (until > Date.now()) return until
    this.#pausedUntil.delete(peerId)
    return undefined
  }

  #pause(peerId: string, untilMs: number): void {
    this.#pausedUntil.set(peerId, Math.max(untilMs, this.#pausedUntil.get(peerId) ?? 0))
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
    const { shares, db } = this.#init
    const signal = AbortSignal.any([this.#controller.signal, AbortSignal.timeout(this.#init.timeoutMs)])
    try {
      if (share.expiresMs !== null && Date.now() > share.expiresMs) {
        shares.markFailed(
          share.shareId,
          `expired after ${share.attempts} attempts: ${share.lastError ?? 'never attempted'}`
        )
        this.#init.onAttemptFailed(share, new Error(share.lastError ?? 'expired'), true)
        return
      }
      if (this.#yieldToPause(share)) return
      const recipient = await this.#init.certificates
        .ensure(share.recipient, { signal })
        .catch((err: unknown) => {
          if (isCertificateVerdict(err)) throw err
          throw new RecipientUnreachableError(`cannot reach ${share.recipient}: ${errorName(err)}`, {
            cause: err
          })
        })
      assertTrustFor(share.tier, recipient.trust, recipient.peerId)
      if (share.tier === 'maximum') {
        if (!this.#init.attestRecipient)
          throw new AttestationNotConfiguredError('maximum tier needs an attestation verifier')
        await this.#init.attestRecipient(share.recipient, share.shareId, { signal })
      }
      const plaintext = this.#init.records.read(share.dataHash)
      if (!plaintext) throw new RecordNotFoundError(`record ${share.dataHash} is missing`)
      // Another attempt to this recipient may have been refused while this one looked up its keys.
      if (this.#yieldToPause(share)) return
      const { bytes } = sealEnvelope({
        header: {
          shareId: share.shareId,
          sender: share.sender,
          recipient: share.recipient,
          tier: share.tier,
          senderKeyId: this.#init.signingKeyId,
          recipientKeyId: keyFingerprint(recipient.encryptionPublicKeyPem)
        },
        plaintext,
        senderSigningPrivateKeyPem: this.#init.signingPrivateKeyPem,
        recipientEncryptionPublicKeyPem: recipient.encryptionPublicKeyPem
      })
      const receipt = await sendEnvelope(this.#init.libp2p, peerIdFromString(share.recipient), bytes, {
        signal,
        stats: this.#init.stats
      })
      verifyReceipt(receipt, share, recipient.signingPublicKeyPem)
      const delivered = db.transaction(() => {
        shares.markDelivered(share.shareId, new TextEncoder().encode(JSON.stringify(receipt)))
        const row = shares.get(share.shareId) as ShareRow
        this.#init.onReceiptStored?.(db, row, receipt)
        return row
      })()
      this.#init.onDelivered(delivered, receipt)
    } catch (err) {
      const stopping = this.#controller.signal.aborted
      const description = err instanceof RemoteRefusalError ? err.refusal : errorName(err)
      const now = Date.now()
      const rateLimited = err instanceof RemoteRefusalError && err.refusal === 'RateLimitedError'
      // The peer's hint is honoured up to the operator's longest backoff; a hostile hint cannot park shares.
      const hintMs = rateLimited ? Math.min(err.retryAfterMs ?? 0, this.#init.retryMaxMs) : 0
      const waitMs = Math.max(
        hintMs,
        backoffMs(share.attempts + 1, this.#init.retryBaseMs, this.#init.retryMaxMs)
      )
      const message = err instanceof Error ? err.message : String(err)
      const detail = rateLimited ? `; backing off ${waitMs} ms` : ''
      const lastError = `${description}: ${message}${detail}`.slice(0, 1000)
      const final = !stopping && share.expiresMs !== null && now >= share.expiresMs
      // The last retry lands on the expiry itself, so a share is never failed before its time.
      const next = stopping ? now : Math.min(now + waitMs, share.expiresMs ?? Number.MAX_SAFE_INTEGER)
      if (rateLimited && !stopping && !final) this.#pause(share.recipient, next)
      if (final) shares.markFailed(share.shareId, lastError)
      else shares.markRetry(share.shareId, next, lastError)
      if (!stopping) this.#init.onAttemptFailed(share, err, final)
      this.#init.logger.debug({ shareId: share.shareId, err: lastError, final }, 'delivery attempt failed')
    }
  }
}
