/**
 * Delivering a share: what to seal for whom, and when to retry. The delivery worker (node/p2p) keeps
 * the mechanics (claiming, timers, streams); it runs `deliverShare` per attempt and asks
 * `retryPlan` and `RecipientPauses` what to do after a failure.
 */
import { AttestationNotConfiguredError } from './errors.ts'
import type { SignedReceipt } from './receipt.ts'
import { ReceiptMismatchError, RecordNotFoundError, RemoteRefusalError } from './share-errors.ts'
import type {
  AttestationVerifier,
  AuditLedger,
  Clock,
  EnvelopeCodec,
  KnownPeer,
  PeerDirectory,
  ShareStore,
  ShareTransport,
  StoredShare
} from './share-ports.ts'
import { assertTrustFor } from './share-trust.ts'

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

/** Whether the share's delivery window has closed before this attempt. */
export function isExpired(share: Pick<StoredShare, 'expiresMs'>, nowMs: number): boolean {
  return share.expiresMs !== null && nowMs > share.expiresMs
}

/** The last error of a share that expired before an attempt could start. */
export function expiryMessage(share: Pick<StoredShare, 'attempts' | 'lastError'>): string {
  return `expired after ${share.attempts} attempts: ${share.lastError ?? 'never attempted'}`
}

/** The retry settings: `retryMaxMs` also caps a peer's retry-after hint. */
export interface RetrySettings {
  readonly retryBaseMs: number
  readonly retryMaxMs: number
  readonly random?: () => number
}

/** What to do with a share after a failed attempt. */
export interface RetryPlan {
  /** The share has expired: mark it failed. */
  readonly final: boolean
  /** When the next attempt is due (Unix ms), unless final. */
  readonly nextAttemptMs: number
  /** The recipient asked to slow down: nothing more is sealed for it before `nextAttemptMs`. */
  readonly pauseRecipient: boolean
  /** For the share's last_error column, at most 1000 characters. */
  readonly lastError: string
}

/**
 * The plan after attempt `share.attempts + 1` failed with `err`. A stopping node puts the share back
 * due at once; a RateLimitedError refusal waits for the backoff or the peer's hint, whichever is
 * longer, the hint honoured up to `retryMaxMs` so a hostile hint cannot park shares.
 */
export function retryPlan(
  share: Pick<StoredShare, 'attempts' | 'expiresMs'>,
  err: unknown,
  context: { readonly nowMs: number; readonly stopping: boolean },
  settings: RetrySettings
): RetryPlan {
  const { nowMs: now, stopping } = context
  const description =
    err instanceof RemoteRefusalError ? err.refusal : err instanceof Error ? err.name : 'Error'
  const rateLimited = err instanceof RemoteRefusalError && err.refusal === 'RateLimitedError'
  const hintMs = rateLimited ? Math.min(err.retryAfterMs ?? 0, settings.retryMaxMs) : 0
  const waitMs = Math.max(
    hintMs,
    backoffMs(share.attempts + 1, settings.retryBaseMs, settings.retryMaxMs, settings.random)
  )
  const message = err instanceof Error ? err.message : String(err)
  const detail = rateLimited ? `; backing off ${waitMs} ms` : ''
  const final = !stopping && share.expiresMs !== null && now >= share.expiresMs
  // The last retry lands on the expiry itself, so a share is never failed before its time.
  const nextAttemptMs = stopping ? now : Math.min(now + waitMs, share.expiresMs ?? Number.MAX_SAFE_INTEGER)
  return {
    final,
    nextAttemptMs,
    pauseRecipient: rateLimited && !stopping && !final,
    lastError: `${description}: ${message}${detail}`.slice(0, 1000)
  }
}

/** Recipients that refused with RateLimitedError, and until when nothing is sealed for them. */
export class RecipientPauses {
  readonly #until = new Map<string, number>()
  readonly #clock: Clock

  constructor(clock: Clock) {
    this.#clock = clock
  }

  /** Until when `peerId` is paused, or undefined when it is not (an ended pause is forgotten). */
  pausedUntil(peerId: string): number | undefined {
    const until = this.#until.get(peerId)
    if (until === undefined) return undefined
    if (until > this.#clock.now()) return until
    this.#until.delete(peerId)
    return undefined
  }

  /** Pauses `peerId` until `untilMs`; a pause never gets shorter. */
  pause(peerId: string, untilMs: number): void {
    this.#until.set(peerId, Math.max(untilMs, this.#until.get(peerId) ?? 0))
  }
}

/** Checks that a receipt answers this share and is signed by its recipient. */
export function checkReceipt(
  receipt: SignedReceipt,
  share: StoredShare,
  recipient: KnownPeer,
  envelopes: Pick<EnvelopeCodec, 'receiptSignedBy'>
): void {
  const b = receipt.body
  if (
    b.shareId !== share.shareId ||
    b.dataHash !== share.dataHash ||
    b.sender !== share.sender ||
    b.recipient !== share.recipient ||
    b.tier !== share.tier
  ) {
    throw new ReceiptMismatchError('receipt does not match the share')
  }
  if (!envelopes.receiptSignedBy(receipt, recipient)) {
    throw new ReceiptMismatchError('receipt signature does not verify with the recipient key')
  }
}

/** What one delivery attempt needs. */
export interface DeliverShareComponents<S extends StoredShare> {
  readonly store: ShareStore<S>
  readonly ledger: AuditLedger<S>
  readonly peers: Pick<PeerDirectory, 'verified'>
  readonly envelopes: Pick<EnvelopeCodec, 'seal' | 'receiptSignedBy'>
  readonly transport: ShareTransport
  readonly attestation?: AttestationVerifier | undefined
}

/**
 * One attempt: verify the recipient (trust for the tier, attestation for maximum), seal a fresh
 * envelope, send it, check the receipt, and store it with its audit events in one transaction.
 * `beforeSeal` runs after the recipient's keys are known, with the plaintext to seal; returning false
 * gives the attempt up unsent (another attempt to the same recipient may have been refused meanwhile,
 * or the envelope would exceed what the recipient admits per second). Returns the delivered row,
 * or undefined when given up.
 */
export async function deliverShare<S extends StoredShare>(
  components: DeliverShareComponents<S>,
  share: S,
  options: { signal: AbortSignal; beforeSeal?: (plaintext: Uint8Array) => boolean }
): Promise<{ share: S; receipt: SignedReceipt } | undefined> {
  const { signal } = options
  const recipient = await components.peers.verified(share.recipient, { signal })
  assertTrustFor(share.tier, recipient.trust, recipient.peerId)
  if (share.tier === 'maximum') {
    if (!components.attestation)
      throw new AttestationNotConfiguredError('maximum tier needs an attestation verifier')
    await components.attestation.verifyRecipient(share.recipient, share.shareId, { signal })
  }
  const plaintext = components.store.readRecord(share.dataHash)
  if (!plaintext) throw new RecordNotFoundError(`record ${share.dataHash} is missing`)
  if (options.beforeSeal && !options.beforeSeal(plaintext)) {
    components.store.returnRecord(share.dataHash, plaintext)
    return undefined
  }
  const envelope = await components.envelopes.seal(share, plaintext, recipient)
  const receipt = await components.transport.send(share.recipient, envelope, { signal })
  checkReceipt(receipt, share, recipient, components.envelopes)
  const { store, ledger } = components
  // Not durable on its own: lost to a power cut, the share is sent again and the recipient answers
  // with the receipt it stored; the next durable commit (the next accepted share) carries it to disk.
  // Receipts verified at the same moment share the commit.
  const delivered = await store.groupTransaction(
    () => {
      const row = store.markDelivered(share.shareId, receipt)
      ledger.receiptStored(row, receipt)
      return row
    },
    { durable: false }
  )
  return { share: delivered, receipt }
}
