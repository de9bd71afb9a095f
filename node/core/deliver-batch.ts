/**
 * Delivering shares to one recipient as one batch (README "Batched delivery"): the recipient's keys
 * are verified once, each share's tier rule (trust; for maximum, a fresh attestation bound to that
 * share) is applied to that share, the shares that pass are sealed together (one key wrap, one
 * signature) and sent, and each answer is judged alone: a verified receipt is stored, a refusal or a
 * bad receipt fails only its share. The delivered ones are marked in one transaction.
 */
import type { BatchShareInput } from './batch-ports.ts'
import { checkReceipt } from './deliver-share.ts'
import { AttestationNotConfiguredError } from './errors.ts'
import type { SignedReceipt } from './receipt.ts'
import { ReceiptMismatchError, RecordNotFoundError } from './share-errors.ts'
import type { DeliverShareComponents } from './deliver-share.ts'
import type { BatchSealer, BatchTransport } from './batch-ports.ts'
import type { StoredShare } from './share-ports.ts'
import { assertTrustFor } from './share-trust.ts'

/** What one batch attempt needs: a share attempt's ports, and the batch's sealer and transport. */
export interface DeliverBatchComponents<S extends StoredShare>
  extends Omit<DeliverShareComponents<S>, 'envelopes' | 'transport'> {
  readonly envelopes: Pick<DeliverShareComponents<S>['envelopes'], 'receiptSignedBy'>
  readonly batches: BatchSealer
  readonly transport: BatchTransport
  /** The most plaintext bytes one batch carries; the shares past it wait for the next. */
  readonly maxBytes: number
}

/** What became of one share of a batch attempt. */
export type BatchOutcome<S> =
  | { readonly share: S; readonly delivered: S; readonly receipt: SignedReceipt }
  | { readonly share: S; readonly error: unknown }
  /** Not sent: given back by `beforeSeal`, or past the batch's byte budget (`deferred`). */
  | { readonly share: S; readonly held: 'given-back' | 'deferred' }

/**
 * One attempt for `shares`, all to the same recipient. Rejects when the batch as a whole fails (the
 * recipient unreachable or unverified, the stream broken, the batch refused): every share then
 * failed alike. `beforeSeal` runs once the shares are ready; returning false gives them up unsent.
 */
export async function deliverBatch<S extends StoredShare>(
  components: DeliverBatchComponents<S>,
  shares: readonly S[],
  options: { signal: AbortSignal; beforeSeal?: (ready: readonly S[]) => boolean }
): Promise<BatchOutcome<S>[]> {
  const { signal } = options
  const first = shares[0]
  if (!first) return []
  if (shares.some((s) => s.recipient !== first.recipient))
    throw new RangeError('a batch goes to one recipient')
  const recipient = await components.peers.verified(first.recipient, { signal })
  const outcomes: BatchOutcome<S>[] = []
  const ready: { share: S; input: BatchShareInput }[] = []
  let bytes = 0
  for (const share of shares) {
    try {
      assertTrustFor(share.tier, recipient.trust, recipient.peerId)
      if (share.tier === 'maximum') {
        if (!components.attestation)
          throw new AttestationNotConfiguredError('maximum tier needs an attestation verifier')
        await components.attestation.verifyRecipient(share.recipient, share.shareId, { signal })
      }
      const plaintext = components.store.readRecord(share.dataHash)
      if (!plaintext) throw new RecordNotFoundError(`record ${share.dataHash} is missing`)
      if (ready.length > 0 && bytes + plaintext.byteLength > components.maxBytes) {
        components.store.returnRecord(share.dataHash, plaintext)
        outcomes.push({ share, held: 'deferred' })
        continue
      }
      bytes += plaintext.byteLength
      ready.push({
        share,
        input: { shareId: share.shareId, tier: share.tier, dataHash: share.dataHash, plaintext }
      })
    } catch (err) {
      outcomes.push({ share, error: err })
    }
  }
  if (ready.length === 0) return outcomes
  if (options.beforeSeal && !options.beforeSeal(ready.map((r) => r.share))) {
    for (const { share, input } of ready) components.store.returnRecord(share.dataHash, input.plaintext)
    return [...outcomes, ...ready.map(({ share }) => ({ share, held: 'given-back' as const }))]
  }
  const sealed = await components.batches.seal(
    ready.map((r) => r.input),
    recipient
  )
  const answers = await components.transport.sendBatch(recipient.peerId, sealed, { signal })
  const byId = new Map(answers.map((a) => [a.shareId, a]))
  const good: { share: S; receipt: SignedReceipt }[] = []
  for (const { share } of ready) {
    const answer = byId.get(share.shareId)
    try {
      if (!answer) throw new ReceiptMismatchError('the batch answer names no result for this share')
      if ('error' in answer) throw answer.error
      checkReceipt(answer.receipt, share, recipient, components.envelopes)
      good.push({ share, receipt: answer.receipt })
    } catch (err) {
      outcomes.push({ share, error: err })
    }
  }
  const { store, ledger } = components
  // Not durable on its own, as a share's own delivery (deliver-share.ts): a batch lost to a power
  // cut is sent again and answered with the receipts the recipient stored.
  const delivered = await store.groupTransaction(
    () =>
      good.map(({ share, receipt }) => {
        const row = store.markDelivered(share.shareId, receipt)
        ledger.receiptStored(row, receipt)
        return { share, delivered: row, receipt }
      }),
    { durable: false }
  )
  return [...outcomes, ...delivered]
}
