import type { BatchSealer, BatchTransport } from '../core/batch-ports.ts'
import { type DeliverBatchComponents, deliverBatch } from '../core/deliver-batch.ts'
import { expiryMessage, isExpired } from '../core/deliver-share.ts'
import type { SignedReceipt } from '../core/receipt.ts'
import type { EnvelopeCodec, StoredShare } from '../core/share-ports.ts'
import { BATCH_UNSUPPORTED_RETRY_MS, MAX_BATCH_PLAINTEXT_BYTES } from './constants.ts'
import type { DeliveryQueue } from './delivery-worker.ts'
import { BatchUnsupportedError } from './errors.ts'

/**
 * One batch attempt of the delivery worker (README "Batched delivery"): the claimed shares of one
 * recipient go through `deliverBatch`; each share's outcome is settled as a share attempt's would be
 * (delivered, or the worker's retry plan for its error). A peer that does not speak the batch
 * protocol gets its shares back due at once, to go per-share, with no attempt counted.
 */

/** What the worker hands the batch path besides its own share ports. */
export interface BatchDeliveryComponents {
  readonly sealer: BatchSealer
  readonly transport: BatchTransport
  /** Checks receipts alone or under a signed receipt root (one verification per root). */
  readonly receipts: Pick<EnvelopeCodec, 'receiptSignedBy'>
}

export interface BatchAttemptContext
  extends Omit<DeliverBatchComponents<StoredShare>, 'batches' | 'transport' | 'envelopes' | 'maxBytes'>,
    BatchDeliveryComponents {
  readonly queue: Pick<DeliveryQueue, 'unclaim' | 'markFailed'>
  readonly signal: AbortSignal
  readonly onDelivered: (share: StoredShare, receipt: SignedReceipt) => void
  readonly onAttemptFailed: (share: StoredShare, err: unknown, final: boolean) => void
  readonly onBatchDelivered?: ((recipient: string, delivered: number) => void) | undefined
  readonly pausedFor: (peerId: string) => number | undefined
  readonly perShareUntil: (peerId: string, untilMs: number) => void
  /** The worker's handling of a failed attempt (retry plan, pause, state). */
  readonly failed: (share: StoredShare, err: unknown) => void
}

/** Delivers `shares` (claimed, all to one recipient) as one batch and settles each. */
export async function runBatchAttempt(
  ctx: BatchAttemptContext,
  shares: readonly StoredShare[]
): Promise<void> {
  const live: StoredShare[] = []
  for (const share of shares) {
    if (isExpired(share, Date.now())) {
      ctx.queue.markFailed(share.shareId, expiryMessage(share))
      ctx.onAttemptFailed(share, new Error(share.lastError ?? 'expired'), true)
    } else live.push(share)
  }
  const recipient = live[0]?.recipient
  if (recipient === undefined) return
  const giveBack = (list: readonly StoredShare[], dueMs: number) =>
    ctx.store.transaction(() => {
      for (const share of list) ctx.queue.unclaim(share.shareId, dueMs)
    })
  const paused = ctx.pausedFor(recipient)
  if (paused !== undefined) return giveBack(live, paused)
  try {
    const outcomes = await deliverBatch(
      {
        ...ctx,
        batches: ctx.sealer,
        envelopes: ctx.receipts,
        maxBytes: MAX_BATCH_PLAINTEXT_BYTES
      },
      live,
      {
        signal: ctx.signal,
        // Another attempt to this recipient may have been refused while this one got ready.
        beforeSeal: (ready) => {
          const until = ctx.pausedFor(recipient)
          if (until === undefined) return true
          giveBack(ready, until)
          return false
        }
      }
    )
    let delivered = 0
    for (const outcome of outcomes) {
      if ('delivered' in outcome) {
        delivered += 1
        ctx.onDelivered(outcome.delivered, outcome.receipt)
      } else if ('error' in outcome) ctx.failed(outcome.share, outcome.error)
      else if (outcome.held === 'deferred') giveBack([outcome.share], Date.now())
    }
    if (delivered > 0) ctx.onBatchDelivered?.(recipient, delivered)
  } catch (err) {
    if (err instanceof BatchUnsupportedError) {
      ctx.perShareUntil(recipient, Date.now() + BATCH_UNSUPPORTED_RETRY_MS)
      return giveBack(live, Date.now())
    }
    for (const share of live) ctx.failed(share, err)
  }
}
