/**
 * Receiving a share, the checks in their order: the envelope's sender is the authenticated stream's
 * peer, that peer's trust suffices for the tier, then the envelope opens (signature before nonce, so
 * a forged envelope never reaches the nonce), the data fits; the nonce, the record, the share row and
 * the signed receipt are stored in one transaction. Idempotent on the share id: a retry after a lost
 * answer gets the stored receipt again and nothing is stored twice.
 *
 * The RSA work (the key unwrap, the receipt's signature) is done before that transaction, and the
 * transaction is the store's group transaction: shares arriving on concurrent streams commit
 * together, one fsync for all, and each is answered only once that commit has returned. A share
 * failing inside the group (a replayed nonce, a share id taken) is refused alone.
 */
import { dataHashOf } from './accept-share.ts'
import type { ReceiptBody, SignedReceipt } from './receipt.ts'
import { MAX_DATA_BYTES } from './share.ts'
import { InvalidShareRequestError, SenderMismatchError } from './share-errors.ts'
import type { AuditLedger, Clock, EnvelopeCodec, KnownPeer, ShareStore, StoredShare } from './share-ports.ts'
import { assertTrustFor } from './share-trust.ts'

/** What receiving a share needs. */
export interface ReceiveShareComponents<S extends StoredShare> {
  readonly store: ShareStore<S>
  readonly ledger: AuditLedger<S>
  readonly envelopes: Pick<EnvelopeCodec, 'peek' | 'open' | 'signReceipt'>
  readonly clock: Clock
  /** This node's PeerId. */
  readonly selfPeerId: string
}

/** The receipt to answer with, and the share when this call stored it (undefined on a repeat). */
export interface ReceivedShare<S> {
  readonly receipt: SignedReceipt
  readonly stored: S | undefined
}

/**
 * Checks, stores and signs a receipt for one envelope from an authenticated, verified peer; resolves
 * once the share is committed.
 */
export async function receiveShare<S extends StoredShare>(
  components: ReceiveShareComponents<S>,
  sender: KnownPeer,
  envelope: Uint8Array
): Promise<ReceivedShare<S>> {
  const { envelopes, store, ledger } = components
  const header = envelopes.peek(envelope)
  if (header.sender !== sender.peerId) {
    throw new SenderMismatchError(
      `envelope names sender ${header.sender}, the stream is from ${sender.peerId}`
    )
  }
  assertTrustFor(header.tier, sender.trust, sender.peerId)
  const opened = await envelopes.open(envelope, sender)
  const { plaintext } = opened
  if (plaintext.byteLength > MAX_DATA_BYTES) throw new InvalidShareRequestError('data exceeds 1 MiB')
  const dataHash = dataHashOf(plaintext)
  // A share id stored before is answered with its stored receipt: no signature for it. Rows are never
  // deleted, so one found here is found again inside the transaction.
  let receipt: SignedReceipt | undefined
  if (!store.getShare(header.shareId)) {
    const body: ReceiptBody = {
      v: 1,
      shareId: header.shareId,
      dataHash,
      sender: sender.peerId,
      recipient: components.selfPeerId,
      tier: header.tier,
      receivedAt: components.clock.now()
    }
    receipt = { body, signature: await envelopes.signReceipt(body) }
  }
  // The replay guard's nonce commits with the stored share, and a crash before that commit leaves
  // neither: the sender, which got no receipt, may send the same envelope again.
  return store.groupTransaction((): ReceivedShare<S> => {
    opened.spendNonce()
    const existing = store.getShare(header.shareId)
    if (existing || !receipt) {
      const stored = existing?.direction === 'in' ? existing.receipt : null
      if (!stored || existing?.sender !== sender.peerId || existing.dataHash !== dataHash) {
        throw new InvalidShareRequestError('share id already used for another share')
      }
      return { receipt: stored, stored: undefined }
    }
    const record = store.putRecord(plaintext, dataHash)
    const share = store.insertShare({
      shareId: header.shareId,
      direction: 'in',
      recordId: record.id,
      dataHash,
      sender: sender.peerId,
      recipient: components.selfPeerId,
      tier: header.tier,
      state: 'received',
      receipt
    })
    ledger.shareReceived(share, receipt)
    return { receipt, stored: share }
  })
}
